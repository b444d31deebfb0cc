//! The shared user directory: every server gets the same id for a name, even when servers
//! intern the same new names at the same moment.

mod common;

use sessionlab::{Config, UserId};
use sessionlab_redis::{DirectoryFull, RedisUsers};
use std::collections::BTreeMap;

#[test]
fn servers_interning_at_once_agree_on_every_id() {
    let url = require_redis!("servers_interning_at_once_agree_on_every_id");
    const NAMES: u64 = 50;
    let prefix = common::unique_prefix("users");
    // Two servers, each with its own store (own pool) and directory over the same keys.
    let stores: Vec<_> =
        (0..2).map(|_| common::store(&url, "users-sessions", &Config::new(1))).collect();
    let directories: Vec<_> =
        stores.iter().map(|store| RedisUsers::new(store, &prefix, 1_000)).collect();
    let seen: Vec<BTreeMap<String, UserId>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4usize)
            .map(|t| {
                let directory = &directories[t % 2];
                s.spawn(move || {
                    // Each thread walks the names in its own order, so first sightings race.
                    let mut order: Vec<u64> = (0..NAMES).collect();
                    if t % 2 == 1 {
                        order.reverse();
                    }
                    order.rotate_left(t * 7);
                    order
                        .into_iter()
                        .map(|n| {
                            let name = format!("user-{n}");
                            let id = directory.intern(&name).expect("intern").expect("not full");
                            (name, id)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("interning thread")).collect()
    });
    for other in &seen[1..] {
        assert_eq!(&seen[0], other, "two threads got different ids for one name");
    }
    let mut ids: Vec<u64> = seen[0].values().map(|id| id.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..NAMES).collect::<Vec<_>>(), "ids are dense and distinct");
    for (name, id) in &seen[0] {
        assert_eq!(directories[1].name(*id).expect("name").as_deref(), Some(name.as_str()));
    }
    assert_eq!(directories[0].name(UserId(NAMES)).expect("name"), None);
    directories[0].clear().expect("clear");
}

#[test]
fn a_full_directory_refuses_new_names_but_knows_old_ones() {
    let url = require_redis!("a_full_directory_refuses_new_names_but_knows_old_ones");
    let store = common::store(&url, "users-full", &Config::new(1));
    let directory = RedisUsers::new(&store, &common::unique_prefix("users-full"), 2);
    assert_eq!(directory.intern("alice").unwrap(), Ok(UserId(0)));
    assert_eq!(directory.intern("bob").unwrap(), Ok(UserId(1)));
    assert_eq!(directory.intern("carol").unwrap(), Err(DirectoryFull));
    assert_eq!(directory.intern("alice").unwrap(), Ok(UserId(0)));
    assert_eq!(directory.name(UserId(2)).unwrap(), None);
    directory.clear().unwrap();
}
