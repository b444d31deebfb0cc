//! Checking: does some order of a recorded [`History`]'s calls, consistent with their
//! real-time order, replay on the sequential model and return exactly what the store returned?
//!
//! (This file is over the lab's ~450-line guide on purpose: it is one algorithm, the search,
//! the per-id signatures, the sum over ids and the witness cutting, that reads top to bottom,
//! and a third of it is this prose.)
//!
//! ## The search: Wing–Gong, made local (P-compositionality)
//!
//! Wing and Gong's algorithm (1993) builds a linearization one call at a time: a call may go
//! next if no pending call *returned* before it was *invoked*; apply it to the model; if the
//! model's result differs from the recorded one, try another; if none fits, backtrack. Lowe
//! (2017) added memoisation: two partial linearizations that have placed the same set of calls
//! and reached the same model state have the same future, so each (placed set, state) pair is
//! explored once. Here each thread's calls happen in program order, so a placed set is just
//! "how many calls of each thread", and the search is a reachability walk over those
//! configurations: no recursion, no backtracking stack.
//!
//! The search is exponential in the number of calls in flight at once, so the history is cut
//! first. Linearizability is *local* (Herlihy & Wing): a history is linearizable iff its
//! restriction to each object is. Horn and Kroening (2015) call a specification that can be
//! cut this way *P-compositional*. Our objects are session ids: `insert`, `touch` and `remove`
//! each concern one id, so each id's sub-history is checked alone, with the one-id model
//! ([`Slot`]). Four threads of twenty calls over a pool of five ids leave each search a few
//! dozen calls.
//!
//! ## `sweep` and `len`: the calls that span ids
//!
//! The specification's `sweep` ([`docs::semantics`](crate::docs::semantics), "Sweep") is not
//! one atomic step over the map: it removes each session at its own
//! instant during the call, and returns how many it removed. So a sweep is, for each id, one
//! *sweep step* (remove the session if it is expired at the sweep's `now`) somewhere inside
//! the sweep's interval, whose outcome, removed or not, the store does not report id by id.
//! The checker learns it instead: each id's search records, for every sweep, whether that
//! id's sweep step removed it, and collects every *signature* (the vector of those bits) that
//! some valid linearization of the id reaches. Then a small dynamic programme over the ids
//! asks whether one signature per id adds up, sweep by sweep, to the counts the sweeps really
//! returned. (The ids are independent, so any combination of per-id linearizations is a
//! linearization of the whole.)
//!
//! `len` is exact only when no other call is in flight (the specification), so a `len` that overlaps
//! another call is recorded but not judged. A *quiescent* `len` is judged like a sweep: each
//! id contributes a bit, present or not at that instant, and the bits must add up to the
//! result. Tests append one such `len` after joining their threads.
//!
//! ## Witnesses
//!
//! A failing history is cut down before it is shown. Every prefix of a linearizable history
//! is linearizable (calls in flight at the cut are *pending*: they may or may not have taken
//! effect, and their results are unknown), so the checker bisects for the shortest
//! non-linearizable prefix, then keeps only the one id whose calls cannot be linearized, or,
//! when each id is fine alone and only the sweep / `len` counts contradict, names only the
//! counts the contradiction needs. Every step keeps the witness sound: it is itself not
//! linearizable.
//!
//! ## Why not a library
//!
//! stateright's `LinearizabilityTester` is the well-kept Rust option, and it was the first
//! choice. It does not fit here: it answers yes or no for one object with a deterministic
//! result per step, so it cannot collect the per-id sweep signatures that the cross-id count
//! constraint needs; it searches without memoisation; and it would bring a model checker's
//! dependency tree into the lab for one function. The checker here is a few hundred lines,
//! and its one idea (memoised reachability per id, then a sum) is documented above.
//!
//! ## Cost
//!
//! Per id, at most (calls per thread + 1)^threads configurations times the model states and
//! signatures reached, in practice far fewer, because real-time order allows only the calls
//! that overlap. The dynamic programme is bounded by the product of (count + 1) over the
//! observations.
//!

use super::record::History;
use crate::check::model::{Op, Ret, ShortId, Slot};
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::Occupied;
use crate::time::Tick;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

impl History {
    /// Decides whether the history is linearizable against the model with time-to-live
    /// `ttl`.
    ///
    /// On failure the error holds a short witness: the shortest non-linearizable prefix, cut
    /// just after some invocation or return (found by bisection: if a prefix fails, every
    /// longer one does; calls in flight at the cut are shown pending), restricted to the one
    /// id that cannot be linearized when there is one, or with every id when only the
    /// sweep / `len` counts cannot be met.
    pub fn check(&self, ttl: u64) -> Result<Checked, NotLinearizable> {
        let error = match self.verdict(ttl) {
            Ok(checked) => return Ok(checked),
            Err(error) => error,
        };
        // Cut just after each event (an invocation or a return), in time order.
        let events = self.events();
        let fails = |event: usize| self.prefix(events[event] + 1).verdict(ttl).err();
        // Invariant: the prefix cut after event `high` fails, or `high` is the whole history.
        let (mut low, mut high) = (0, events.len());
        while low < high {
            let middle = (low + high) / 2;
            if fails(middle).is_some() {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        if high == events.len() {
            return Err(error);
        }
        let mut minimal = fails(high).unwrap_or(error);
        // The prefix cut just before this event passes and the one cut after it fails: the
        // call that returned here is the one that cannot be placed.
        if let Some(call) = self.calls.iter().find(|c| c.returned == events[high]) {
            minimal.culprit = Some((call.thread, call.invoked));
            minimal.reason.push_str(
                "; the history up to the call marked `<- cannot be placed` is shown: every \
                 call before its return can be placed, it cannot",
            );
        }
        Err(minimal)
    }

    fn verdict(&self, ttl: u64) -> Result<Checked, NotLinearizable> {
        let observations = self.observations();
        let index: HashMap<usize, usize> =
            observations.iter().enumerate().map(|(at, obs)| (obs.call, at)).collect();
        let mut keys: BTreeMap<SessionId, Vec<usize>> = BTreeMap::new();
        for (at, call) in self.calls.iter().enumerate() {
            if let Some(id) = call.op.id() {
                keys.entry(id).or_default().push(at);
            }
        }
        let mut checked = Checked { keys: keys.len(), configurations: 0 };
        let mut per_key = Vec::with_capacity(keys.len());
        // A pending sweep may have removed any id, to an unknown count: every id's search
        // takes it as an unchecked step.
        let pending_sweeps: Vec<usize> = (0..self.calls.len())
            .filter(|&at| {
                matches!(self.calls[at].op, Op::Sweep { .. }) && self.is_pending(&self.calls[at])
            })
            .collect();
        for (id, keyed) in &keys {
            let mut wanted = keyed.clone();
            wanted.extend(&pending_sweeps);
            let search = KeySearch::new(self, &wanted, &index, ttl);
            let (signatures, explored) = search.run();
            checked.configurations += explored;
            if signatures.is_empty() {
                let mut sub: Vec<usize> = wanted;
                sub.extend(observations.iter().map(|obs| obs.call));
                return Err(NotLinearizable {
                    culprit: None,
                    reason: format!(
                        "session {}: no order of its calls, within their real-time bounds, is \
                         a legal sequential run of the model (sessionlab::docs::semantics)",
                        ShortId(id)
                    ),
                    witness: self.subset(sub),
                });
            }
            per_key.push(signatures);
        }
        let mut counts: Vec<Option<usize>> =
            observations.iter().map(|obs| Some(obs.count)).collect();
        if adds_up(&per_key, &counts) {
            return Ok(checked);
        }
        // Forget every result the contradiction does not need (sound: a history that fails
        // with fewer results known fails with all of them), so the message names only the
        // sweeps and `len`s that cannot all be right.
        for at in 0..counts.len() {
            let known = counts[at].take();
            if adds_up(&per_key, &counts) {
                counts[at] = known;
            }
        }
        let detail: Vec<String> = observations
            .iter()
            .zip(&counts)
            .filter(|(_, count)| count.is_some())
            .map(|(obs, _)| {
                let call = &self.calls[obs.call];
                format!("t{} {} -> {}", call.thread, call.op, call.ret)
            })
            .collect();
        Err(NotLinearizable {
            culprit: None,
            reason: format!(
                "every session's calls can be linearized alone, but no choice of them gives \
                 these sweep / len results together: {}",
                detail.join("; ")
            ),
            witness: self.clone(),
        })
    }

    /// The sweeps and quiescent `len`s, with the counts they returned.
    fn observations(&self) -> Vec<Observation> {
        let alone = self.quiescent();
        let mut observations = Vec::new();
        for (at, call) in self.calls.iter().enumerate() {
            if self.is_pending(call) {
                continue;
            }
            let count = match (call.op, call.ret) {
                (Op::Sweep { .. }, Ret::Sweep(n)) => n,
                (Op::Len, Ret::Len(n)) if alone[at] => n,
                _ => continue,
            };
            observations.push(Observation { call: at, count });
        }
        observations
    }

    /// Which calls overlap no other call. The calls are sorted by invocation, so call `at` is
    /// alone iff every earlier call returned before it began and the next one began after
    /// it returned: one pass with a running maximum, not a quadratic scan.
    fn quiescent(&self) -> Vec<bool> {
        let mut alone = vec![false; self.calls.len()];
        let mut latest_return = None;
        for (at, call) in self.calls.iter().enumerate() {
            let before_clear = latest_return.is_none_or(|latest| latest < call.invoked);
            let after_clear =
                self.calls.get(at + 1).is_none_or(|next| next.invoked > self.end(call));
            alone[at] = before_clear && after_clear;
            latest_return = latest_return.max(Some(self.end(call)));
        }
        alone
    }

    fn subset(&self, mut at: Vec<usize>) -> History {
        at.sort_unstable();
        at.dedup();
        let calls = at.into_iter().map(|at| self.calls[at]).collect();
        History { cut: self.cut, ..History::new(calls) }
    }
}

/// What a successful [`History::check`] looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Distinct session ids, each searched alone.
    pub keys: usize,
    /// Configurations (placed calls, model state, signature) explored in all.
    pub configurations: usize,
}

/// Why a history is not linearizable, with the calls that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLinearizable {
    /// What cannot be satisfied.
    pub reason: String,
    /// The offending (sub-)history. A sub-history restricted to one id is itself not
    /// linearizable, so by locality neither is the whole.
    pub witness: History,
    /// The call that cannot be placed, as (thread, invocation stamp): the one whose return
    /// turns the shortest failing prefix from linearizable into not.
    pub culprit: Option<(usize, u64)>,
}

impl fmt::Display for NotLinearizable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "not linearizable: {}", self.reason)?;
        let text = self.witness.to_string();
        let Some((thread, invoked)) = self.culprit else { return write!(f, "{text}") };
        // The witness prints one line per call in invocation order: mark the culprit's line.
        let at = self.witness.calls.iter().position(|c| c.thread == thread && c.invoked == invoked);
        for (line_no, line) in text.lines().enumerate() {
            if Some(line_no) == at {
                writeln!(f, "{line}   <- cannot be placed")?;
            } else {
                writeln!(f, "{line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for NotLinearizable {}

/// A sweep or a quiescent `len`: a call whose result is a sum over ids.
struct Observation {
    call: usize,
    count: usize,
}

/// One call as one id's search sees it.
#[derive(Clone, Copy)]
enum Step {
    Insert {
        user: UserId,
        now: Tick,
        ret: Result<(), Occupied>,
    },
    Touch {
        now: Tick,
        ret: Option<UserId>,
    },
    Remove {
        ret: Option<UserId>,
    },
    /// This id's step of a sweep: its outcome is a signature bit, not a recorded result
    /// (no bit for a pending sweep, whose count is unknown).
    Sweep {
        now: Tick,
        bit: Option<usize>,
    },
    /// A quiescent `len`: whether this id is present is a signature bit.
    Present {
        bit: usize,
    },
    /// A call whose result is of the wrong kind for its operation.
    Mismatched,
}

struct Timed {
    step: Step,
    invoked: u64,
    /// `u64::MAX` for a pending call: it constrains nothing after it.
    returned: u64,
    /// A pending call may take effect or not, and its result is not checked.
    pending: bool,
}

/// Which sweep steps removed this id, and which quiescent `len`s saw it: the indices of the
/// observations whose bit is set, ascending. Sparse, because an id is removed by few sweeps
/// and seen by few `len`s, while a long history has thousands of each.
type Signature = Vec<u32>;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Configuration {
    placed: Vec<u32>,
    slot: Slot,
    signature: Signature,
}

/// The memoised Wing–Gong search over one id's sub-history.
struct KeySearch {
    ttl: u64,
    /// Each thread's calls on this id (and its sweeps / quiescent `len`s), in program order.
    threads: Vec<Vec<Timed>>,
}

impl KeySearch {
    /// The search over the calls at `calls` (this id's, plus sweeps and quiescent `len`s).
    fn new(
        history: &History,
        calls: &[usize],
        observation_index: &HashMap<usize, usize>,
        ttl: u64,
    ) -> Self {
        let mut by_thread: BTreeMap<usize, Vec<Timed>> = BTreeMap::new();
        let mut wanted: Vec<usize> = calls.to_vec();
        wanted.extend(observation_index.keys().copied());
        wanted.sort_unstable();
        wanted.dedup();
        for at in wanted {
            let call = &history.calls[at];
            let step = match (call.op, call.ret) {
                (Op::Insert { user, now, .. }, Ret::Insert(ret)) => Step::Insert { user, now, ret },
                (Op::Touch { now, .. }, Ret::Touch(ret)) => Step::Touch { now, ret },
                (Op::Remove { .. }, Ret::Remove(ret)) => Step::Remove { ret },
                (Op::Sweep { now }, Ret::Sweep(_)) => {
                    Step::Sweep { now, bit: observation_index.get(&at).copied() }
                }
                (Op::Len, Ret::Len(_)) => match observation_index.get(&at) {
                    Some(&bit) => Step::Present { bit },
                    None => continue,
                },
                // A result of the wrong kind (not from `Op::apply`: a hand-built history)
                // matches no model step, which the search reports as a violation.
                _ => Step::Mismatched,
            };
            let pending = history.is_pending(call);
            by_thread.entry(call.thread).or_default().push(Timed {
                step,
                invoked: call.invoked,
                returned: if pending { u64::MAX } else { call.returned },
                pending,
            });
        }
        Self { ttl, threads: by_thread.into_values().collect() }
    }

    /// Every signature that a full linearization reaches, and how many configurations were
    /// explored. No signature means the id cannot be linearized at all.
    fn run(&self) -> (HashSet<Signature>, usize) {
        let start = Configuration {
            placed: vec![0; self.threads.len()],
            slot: Slot::ABSENT,
            signature: Vec::new(),
        };
        let mut seen: HashSet<Configuration> = HashSet::new();
        let mut pending = vec![start.clone()];
        seen.insert(start);
        let mut signatures = HashSet::new();
        while let Some(configuration) = pending.pop() {
            // A call may go next only if no unplaced call returned before it was invoked. Each
            // thread's calls are ordered, so the earliest return among unplaced calls is the
            // earliest among the threads' next calls.
            let next: Vec<Option<&Timed>> = self
                .threads
                .iter()
                .zip(&configuration.placed)
                .map(|(calls, &placed)| calls.get(placed as usize))
                .collect();
            let Some(deadline) = next.iter().flatten().map(|timed| timed.returned).min() else {
                signatures.insert(configuration.signature);
                continue;
            };
            for (thread, timed) in next.iter().enumerate() {
                let Some(timed) = timed else { continue };
                if timed.invoked > deadline {
                    continue;
                }
                let mut successors = Vec::with_capacity(2);
                let mut applied = configuration.clone();
                if self.apply(timed.step, !timed.pending, &mut applied) {
                    successors.push(applied);
                }
                if timed.pending {
                    // A pending call is its thread's last; it may never take effect.
                    successors.push(configuration.clone());
                }
                for mut successor in successors {
                    successor.placed[thread] += 1;
                    if seen.insert(successor.clone()) {
                        pending.push(successor);
                    }
                }
            }
        }
        (signatures, seen.len())
    }

    /// Applies one step to the model; false if `checked` and the model disagrees with the
    /// recorded result.
    fn apply(&self, step: Step, checked: bool, configuration: &mut Configuration) -> bool {
        let slot = &mut configuration.slot;
        let set = |signature: &mut Signature, bit: usize| {
            let bit = u32::try_from(bit).expect("fewer than 2^32 observations");
            if let Err(at) = signature.binary_search(&bit) {
                signature.insert(at, bit);
            }
        };
        match step {
            Step::Insert { user, now, ret } => slot.insert(user, now) == ret || !checked,
            Step::Touch { now, ret } => slot.touch(self.ttl, now) == ret || !checked,
            Step::Remove { ret } => slot.remove() == ret || !checked,
            Step::Sweep { now, bit } => {
                if slot.sweep(self.ttl, now)
                    && let Some(bit) = bit
                {
                    set(&mut configuration.signature, bit);
                }
                true
            }
            Step::Present { bit } => {
                if slot.is_present() {
                    set(&mut configuration.signature, bit);
                }
                true
            }
            Step::Mismatched => !checked,
        }
    }
}

/// Whether one signature per id can be chosen so that, observation by observation, the bits
/// add up to the recorded counts (observations whose count is `None` are not constrained).
fn adds_up(per_key: &[HashSet<Signature>], counts: &[Option<usize>]) -> bool {
    let target: Vec<usize> = counts.iter().map(|count| count.unwrap_or(0)).collect();
    let mut sums: HashSet<Vec<usize>> = HashSet::from([vec![0; counts.len()]]);
    for signatures in per_key {
        let mut next = HashSet::new();
        for sum in &sums {
            'signatures: for signature in signatures {
                let mut grown = sum.clone();
                for &bit in signature {
                    let bit = bit as usize;
                    let Some(count) = counts[bit] else { continue };
                    grown[bit] += 1;
                    if grown[bit] > count {
                        continue 'signatures;
                    }
                }
                next.insert(grown);
            }
        }
        sums = next;
        if sums.is_empty() {
            return false;
        }
    }
    sums.contains(&target)
}
