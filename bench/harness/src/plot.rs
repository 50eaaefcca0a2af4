//! The SVG plot (`bench/results/<date>.svg`): one bar panel per scenario with the headline
//! metric of every server that completed it.

use std::path::Path;

use plotters::prelude::*;

use plugboard_loadgen::Scenario;

use crate::error::HarnessError;
use crate::markdown::fmt_num;
use crate::results::{Results, median_headline};
use crate::servers::ServerKind;

const PANEL_HEIGHT: u32 = 280;
const WIDTH: u32 = 900;

fn color(kind: ServerKind) -> RGBColor {
    match kind {
        ServerKind::Plugboard => RGBColor(0x2b, 0x6c, 0xb0),
        ServerKind::Socketioxide => RGBColor(0x6b, 0xa3, 0x5a),
        ServerKind::Node => RGBColor(0xc0, 0x5a, 0x3c),
        ServerKind::Ceiling => RGBColor(0x88, 0x88, 0x88),
    }
}

/// Draws the plot; scenarios without any completed run are left out.
pub fn draw(
    results: &Results,
    scenarios: &[Scenario],
    servers: &[ServerKind],
    path: &Path,
) -> Result<(), HarnessError> {
    let panels: Vec<(Scenario, Vec<(ServerKind, f64)>)> = scenarios
        .iter()
        .map(|&sc| {
            (
                sc,
                servers
                    .iter()
                    .filter_map(|&s| median_headline(&results.runs, sc, s).map(|v| (s, v)))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, bars)| !bars.is_empty())
        .collect();
    let rows = panels.len().max(1);
    let root = SVGBackend::new(path, (WIDTH, PANEL_HEIGHT * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    if panels.is_empty() {
        root.draw(&Text::new(
            "no completed runs",
            (20, 20),
            ("sans-serif", 16),
        ))
        .map_err(plot_err)?;
    }
    for ((scenario, bars), area) in panels.iter().zip(root.split_evenly((rows, 1))) {
        draw_panel(&area, *scenario, bars)?;
    }
    root.present().map_err(plot_err)?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    scenario: Scenario,
    bars: &[(ServerKind, f64)],
) -> Result<(), HarnessError> {
    let (metric, higher) = scenario.headline();
    let max = bars.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0);
    let caption = format!(
        "{scenario}: {metric} ({} is better)",
        if higher { "higher" } else { "lower" }
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(80)
        .build_cartesian_2d((0..bars.len()).into_segmented(), 0.0..max * 1.18)
        .map_err(plot_err)?;
    let names: Vec<&str> = bars.iter().map(|(k, _)| k.name()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_max_light_lines(1)
        .y_labels(6)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => names.get(*i).map(|s| (*s).to_owned()).unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| fmt_num(*v))
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (kind, v))| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                color(*kind).filled(),
            );
            bar.set_margin(0, 0, 20, 20);
            bar
        }))
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            Text::new(
                fmt_num(*v),
                (SegmentValue::CenterOf(i), *v + max * 0.03),
                ("sans-serif", 14),
            )
        }))
        .map_err(plot_err)?;
    Ok(())
}

fn plot_err<E: std::fmt::Debug>(e: E) -> HarnessError {
    HarnessError::Plot(format!("{e:?}"))
}
