//! `load`'s results as a picture (`load --chart results.svg`): per store, requests/s on the
//! left and p50/p99 latency on the right, a store whose run was not clean in red.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;
use std::path::Path;

/// One store's results, as the chart shows them.
pub struct Bar {
    /// The store's name.
    pub store: String,
    /// Requests per second.
    pub throughput: f64,
    /// Median latency, µs.
    pub p50: u64,
    /// 99th percentile latency, µs.
    pub p99: u64,
    /// Whether the run was clean (server fine, nothing lost, resurrected or wrongly expired).
    pub clean: bool,
}

/// Why the chart could not be written.
pub type ChartError = Box<dyn std::error::Error + Send + Sync>;

const CLEAN: RGBColor = RGBColor(40, 110, 170);
const BROKEN: RGBColor = RGBColor(200, 50, 50);
const P99: RGBColor = RGBColor(240, 150, 40);

type Panel<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<SegmentedCoord<RangedCoordusize>, RangedCoordf64>>;

/// One half of the picture: a bar per store in `names`, values from 0 to `top`.
fn panel<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    names: &[String],
    top: f64,
) -> Result<Panel<'a, 'b>, ChartError> {
    // A segmented `0..n` has a segment for `n` too: the last index is the upper bound.
    let last = names.len().saturating_sub(1).max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..top)?;
    let label = |value: &SegmentValue<usize>| match value {
        SegmentValue::CenterOf(index) => names.get(*index).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&label)
        .y_label_formatter(&|value: &f64| format!("{value:.0}"))
        .draw()?;
    Ok(chart)
}

/// Writes the chart of `bars` to `path` as SVG.
pub fn write_svg(path: &Path, bars: &[Bar]) -> Result<(), ChartError> {
    let root = SVGBackend::new(path, (1100, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root
        .titled("sessionlab-web load: each store behind the same HTTP app", ("sans-serif", 22))?;
    let (left, right) = root.split_horizontally(550);
    let names: Vec<String> = bars.iter().map(|bar| bar.store.clone()).collect();

    let top = bars.iter().map(|bar| bar.throughput).fold(1.0, f64::max) * 1.15;
    let caption = "requests/s (higher is better; red: not clean)";
    let mut chart = panel(&left, caption, &names, top)?;
    for (index, bar) in bars.iter().enumerate() {
        let color = if bar.clean { CLEAN } else { BROKEN };
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(color.filled())
                .margin(18)
                .data([(index, bar.throughput)]),
        )?;
    }

    let slowest = bars.iter().map(|bar| bar.p99).max().unwrap_or(1).max(1) as f64 * 1.15;
    let mut chart = panel(&right, "latency µs: p50 (blue), p99 (orange)", &names, slowest)?;
    chart.draw_series(
        Histogram::vertical(&chart)
            .style(P99.filled())
            .margin(12)
            .data(bars.iter().enumerate().map(|(i, bar)| (i, bar.p99 as f64))),
    )?;
    chart.draw_series(
        Histogram::vertical(&chart)
            .style(CLEAN.filled())
            .margin(30)
            .data(bars.iter().enumerate().map(|(i, bar)| (i, bar.p50 as f64))),
    )?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_every_store() {
        let bar = |store: &str, clean| Bar {
            store: store.into(),
            throughput: 5e4,
            p50: 20,
            p99: 90,
            clean,
        };
        let path =
            std::env::temp_dir().join(format!("sessionlab-chart-{}.svg", std::process::id()));
        write_svg(&path, &[bar("mutex", true), bar("racy", false)]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("mutex") && svg.contains("racy"));
        assert!(svg.contains("#C83232"), "the unclean store is red");
    }
}
