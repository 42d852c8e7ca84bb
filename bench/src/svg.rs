//! A small hand-written SVG line chart: panels side by side, concurrency on
//! a log₂ x axis, a linear y axis from zero or a logarithmic one (latencies
//! span milliseconds to seconds), one line per series (dashed for p99), a
//! legend above each panel and optional horizontal guides (targets). No
//! dependencies; every text is XML-escaped.

use std::fmt::Write as _;

use paymesh_kit::markup::escape;

const PANEL_WIDTH: f64 = 560.0;
const PANEL_HEIGHT: f64 = 420.0;
const TITLE_HEIGHT: f64 = 56.0;
/// Inside a panel: room for the y labels, the legend, the x labels.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 92.0;
const BOTTOM: f64 = 52.0;

/// One line of a panel.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) color: &'static str,
    pub(crate) dashed: bool,
    /// (concurrency, value) pairs.
    pub(crate) points: Vec<(u32, f64)>,
}

impl Series {
    pub(crate) fn new(
        label: impl Into<String>,
        color: &'static str,
        dashed: bool,
        points: Vec<(u32, f64)>,
    ) -> Self {
        Self { label: label.into(), color, dashed, points }
    }
}

/// One chart of the figure.
#[derive(Debug)]
pub(crate) struct Panel {
    pub(crate) title: String,
    pub(crate) y_label: String,
    pub(crate) series: Vec<Series>,
    /// Horizontal lines at (value, label), such as a target.
    pub(crate) guides: Vec<(f64, String)>,
    /// A logarithmic y axis (whole decades) instead of a linear one from 0.
    pub(crate) log_scale: bool,
}

/// How values map to a panel's height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Scale {
    /// From zero to a round maximum.
    Linear { max: f64 },
    /// Whole decades, from `low` to `high` (powers of ten).
    Log { low: f64, high: f64 },
}

impl Scale {
    /// The scale that holds every value of `values`.
    pub(crate) fn fitting(values: impl Iterator<Item = f64>, log: bool) -> Self {
        let values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
        if !log {
            return Self::Linear { max: nice_ceiling(values.iter().copied().fold(0.0, f64::max)) };
        }
        let positive = values.iter().copied().filter(|&v| v > 0.0);
        let (lowest, highest) = positive.fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if highest <= 0.0 {
            return Self::Log { low: 1.0, high: 10.0 };
        }
        let low = 10f64.powf(lowest.log10().floor());
        let high = 10f64.powf(highest.log10().ceil()).max(low * 10.0);
        Self::Log { low, high }
    }

    /// Where `value` sits, from 0 (bottom) to 1 (top).
    pub(crate) fn fraction(self, value: f64) -> f64 {
        match self {
            Self::Linear { max } => value / max,
            Self::Log { low, high } => (value.max(low).log10() - low.log10()) / (high.log10() - low.log10()),
        }
    }

    /// The values that get a grid line and a label: six on a linear
    /// scale; on a log scale 1, 2 and 5 of each decade (1 alone beyond
    /// three decades).
    pub(crate) fn ticks(self) -> Vec<f64> {
        match self {
            Self::Linear { max } => (0..=5).map(|step| max * f64::from(step) / 5.0).collect(),
            Self::Log { low, high } => {
                let decades = (high / low).log10().round() as i32;
                let steps: &[f64] = if decades > 3 { &[1.0] } else { &[1.0, 2.0, 5.0] };
                let mut ticks: Vec<f64> =
                    (0..decades).flat_map(|d| steps.iter().map(move |s| s * low * 10f64.powi(d))).collect();
                ticks.push(high);
                ticks
            }
        }
    }
}

/// The whole figure: `panels` side by side over the concurrencies `xs`.
pub(crate) fn chart(title: &str, subtitle: &str, xs: &[u32], panels: &[Panel]) -> String {
    let width = PANEL_WIDTH * panels.len().max(1) as f64;
    let height = TITLE_HEIGHT + PANEL_HEIGHT;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="17" font-weight="bold">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="44" text-anchor="middle" fill="#555">{}</text>"##,
        width / 2.0,
        escape(subtitle)
    );
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut svg, PANEL_WIDTH * i as f64, TITLE_HEIGHT, xs, panel);
    }
    svg.push_str("</svg>\n");
    svg
}

fn draw_panel(svg: &mut String, x0: f64, y0: f64, xs: &[u32], panel: &Panel) {
    let (left, right) = (x0 + LEFT, x0 + PANEL_WIDTH - RIGHT);
    let (top, bottom) = (y0 + TOP, y0 + PANEL_HEIGHT - BOTTOM);
    let values = panel.series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let scale = Scale::fitting(values.chain(panel.guides.iter().map(|g| g.0)), panel.log_scale);
    let x_of = |c: u32| x_position(c, xs, left, right);
    let y_of = |v: f64| bottom - scale.fraction(v) * (bottom - top);

    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="14" font-weight="bold">{}</text>"#,
        (left + right) / 2.0,
        y0 + 20.0,
        escape(&panel.title)
    );
    // Grid and y labels.
    for value in scale.ticks() {
        let y = y_of(value);
        let _ =
            writeln!(svg, r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#e4e4e4"/>"##);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
            left - 6.0,
            y,
            tick_label(value)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})">{}</text>"#,
        x0 + 16.0,
        (top + bottom) / 2.0,
        x0 + 16.0,
        (top + bottom) / 2.0,
        escape(&panel.y_label)
    );
    // X axis: one tick per concurrency.
    let _ = writeln!(svg, r##"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>"##);
    for &c in xs {
        let x = x_of(c);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{}" stroke="#333"/>"##,
            bottom + 5.0
        );
        let _ = writeln!(svg, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{c}</text>"#, bottom + 19.0);
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">concurrent connections</text>"#,
        (left + right) / 2.0,
        bottom + 40.0
    );
    // Guides.
    for (value, label) in &panel.guides {
        let y = y_of(*value);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#c0392b" stroke-dasharray="2 3"/>"##
        );
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{:.1}" fill="#c0392b">{}</text>"##,
            left + 6.0,
            y - 4.0,
            escape(label)
        );
    }
    // Lines and points, each point with its value as a tooltip.
    for series in &panel.series {
        let dash = if series.dashed { r#" stroke-dasharray="7 4""# } else { "" };
        let path: Vec<String> =
            series.points.iter().map(|&(c, v)| format!("{:.1},{:.1}", x_of(c), y_of(v))).collect();
        if path.len() > 1 {
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
                path.join(" "),
                series.color
            );
        }
        for &(c, v) in &series.points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>{}: {} at {c}</title></circle>"#,
                x_of(c),
                y_of(v),
                series.color,
                escape(&series.label),
                tick_label(v)
            );
        }
    }
    // Legend: two columns above the plot.
    for (i, series) in panel.series.iter().enumerate() {
        let column = (i % 2) as f64;
        let row = (i / 2) as f64;
        let x = left + column * (right - left) / 2.0;
        let y = y0 + 38.0 + row * 16.0;
        let dash = if series.dashed { r#" stroke-dasharray="7 4""# } else { "" };
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2"{dash}/>"#,
            x + 24.0,
            series.color
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" dominant-baseline="middle">{}</text>"#,
            x + 30.0,
            y,
            escape(&series.label)
        );
    }
}

/// Where concurrency `c` sits between `left` and `right`: log₂ spacing
/// over the smallest to largest of `xs` (1, 8, 32, 64 spread as 0, 3, 5, 6).
fn x_position(c: u32, xs: &[u32], left: f64, right: f64) -> f64 {
    let log = |v: u32| f64::from(v.max(1)).log2();
    let low = xs.iter().copied().min().map_or(0.0, log);
    let high = xs.iter().copied().max().map_or(0.0, log);
    let margin = (right - left) * 0.05;
    if high <= low {
        return (left + right) / 2.0;
    }
    left + margin + (log(c) - low) / (high - low) * (right - left - 2.0 * margin)
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `value` (1 for nothing).
pub(crate) fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&c| c >= value * (1.0 - 1e-9)).unwrap_or(value)
}

/// A value short enough for an axis: at most two decimals, none needless.
fn tick_label(value: f64) -> String {
    if value >= 100.0 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_at_a_round_number() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(30.0), 50.0);
        assert_eq!(nice_ceiling(20.0), 20.0);
        assert_eq!(nice_ceiling(1234.0), 2000.0);
    }

    #[test]
    fn a_log_scale_spans_whole_decades_with_1_2_5_ticks() {
        let scale = Scale::fitting([3.0, 30.0, 1384.0].into_iter(), true);
        assert_eq!(scale, Scale::Log { low: 1.0, high: 10_000.0 });
        assert_eq!(scale.fraction(1.0), 0.0);
        assert!((scale.fraction(100.0) - 0.5).abs() < 1e-12);
        assert_eq!(scale.fraction(0.0), 0.0, "nothing falls below the axis");
        // Four decades: one tick each.
        assert_eq!(scale.ticks(), vec![1.0, 10.0, 100.0, 1000.0, 10_000.0]);
        let narrow = Scale::fitting([12.0, 80.0].into_iter(), true);
        assert_eq!(narrow.ticks(), vec![10.0, 20.0, 50.0, 100.0]);
        assert_eq!(Scale::fitting([0.0].into_iter(), true), Scale::Log { low: 1.0, high: 10.0 });
    }

    #[test]
    fn a_linear_scale_starts_at_zero_and_ends_round() {
        let scale = Scale::fitting([120.0, 472.0].into_iter(), false);
        assert_eq!(scale, Scale::Linear { max: 500.0 });
        assert_eq!(scale.ticks(), vec![0.0, 100.0, 200.0, 300.0, 400.0, 500.0]);
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(12.25), "12.25");
        assert_eq!(tick_label(2000.0), "2000");
    }

    #[test]
    fn concurrency_is_spaced_by_its_logarithm() {
        let xs = [1, 8, 32, 64];
        let (left, right) = (0.0, 110.0);
        // 5% margins: 1 at 5.5, 64 at 104.5, 8 at half-way (3 of 6).
        assert!((x_position(1, &xs, left, right) - 5.5).abs() < 1e-9);
        assert!((x_position(64, &xs, left, right) - 104.5).abs() < 1e-9);
        assert!((x_position(8, &xs, left, right) - 55.0).abs() < 1e-9);
        assert_eq!(x_position(8, &[8], left, right), 55.0);
    }

    #[test]
    fn the_chart_is_one_svg_element_with_escaped_text() {
        let panel = Panel {
            title: "Latency <ms> & more".to_owned(),
            y_label: "ms".to_owned(),
            series: vec![
                Series::new("REST p50", "#000", false, vec![(1, 2.0), (8, 5.0)]),
                Series::new("REST p99", "#000", true, vec![(1, 4.0), (8, 12.0)]),
            ],
            guides: vec![(30.0, "p99 target 30 ms".to_owned())],
            log_scale: false,
        };
        let svg = chart("t", "sub", &[1, 8], &[panel]);
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("Latency &lt;ms&gt; &amp; more"));
        assert!(!svg.contains("<ms>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("stroke-dasharray=\"7 4\"").count(), 2, "the p99 line and its legend");
        assert!(svg.contains("p99 target 30 ms"));
        // Every element opened is closed: the tags balance.
        assert_eq!(svg.matches("<circle").count(), svg.matches("</circle>").count());
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }
}
