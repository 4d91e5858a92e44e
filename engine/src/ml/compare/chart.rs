//! The leaderboard drawn as an SVG file (`chart = 'board.svg'`): a
//! horizontal bar per model of the sort metric's mean over the folds, with
//! an error bar of ± one standard deviation, best at the top. A model that
//! failed keeps its row, labelled, without a bar. Written with `plotters`
//! (its SVG backend needs no system libraries), to a temporary sibling
//! renamed over the target, so a failed write leaves an old chart intact.

use std::path::Path;

use fsql_ml::compare::BoardRow;
use plotters::element::ErrorBar;
use plotters::prelude::*;

/// Draws `rows` (in leaderboard order) by `metric`, whose values are at
/// `at` among the means (None: the time column).
pub(crate) fn write(
    path: &Path,
    rows: &[BoardRow],
    metric: &str,
    at: Option<usize>,
    folds: usize,
) -> Result<(), String> {
    let value = |r: &BoardRow| -> Option<(f64, f64)> {
        match at {
            Some(m) => Some((r.means.get(m).copied()??, r.stds.get(m).copied()??)),
            None => Some((r.seconds?, 0.0)),
        }
    };
    let n = rows.len().max(1);
    let labels: Vec<String> = rows
        .iter()
        .map(|r| match &r.error {
            None => r.model.clone(),
            Some(_) => format!("{} (failed)", r.model),
        })
        .collect();
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (m, s) in rows.iter().filter_map(value) {
        lo = lo.min(m - s);
        hi = hi.max(m + s);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let x_range = (lo.min(0.0) - if lo < 0.0 { pad } else { 0.0 })..(hi + pad);
    let longest = labels.iter().map(|l| l.len()).max().unwrap_or(10) as u32;
    let height = 120 + 36 * n as u32;
    let tmp = path.with_file_name(format!(
        ".{}.fsql-tmp",
        path.file_name()
            .map_or("chart".into(), |f| f.to_string_lossy())
    ));
    {
        let root = SVGBackend::new(&tmp, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let title = format!("{metric}: mean ± SD over {folds} folds");
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(36)
            .y_label_area_size(20 + longest * 8)
            .build_cartesian_2d(x_range, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        let shown = labels.clone();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&move |v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    // Best at the top: row 0 is drawn in the last segment.
                    n.checked_sub(1 + *i)
                        .and_then(|k| shown.get(k).cloned())
                        .unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .x_desc(metric)
            .draw()
            .map_err(|e| e.to_string())?;
        let bar = RGBColor(66, 114, 196);
        for (i, r) in rows.iter().enumerate() {
            let Some((mean, sd)) = value(r) else {
                continue;
            };
            let y = n - 1 - i;
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (mean, SegmentValue::Exact(y + 1)),
                ],
                bar.mix(0.8).filled(),
            );
            rect.set_margin(5, 5, 0, 0);
            chart
                .draw_series(std::iter::once(rect))
                .map_err(|e| e.to_string())?;
            if sd > 0.0 {
                chart
                    .draw_series(std::iter::once(ErrorBar::new_horizontal(
                        SegmentValue::CenterOf(y),
                        mean - sd,
                        mean,
                        mean + sd,
                        BLACK.stroke_width(2),
                        10,
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}
