//! Bar charts as SVG, drawn by the benchmarks themselves (no plotting
//! library): groups of bars, one colour per series, a labelled value axis.

use std::fmt::Write;

const COLOURS: &[&str] = &[
    "#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2",
];

/// One group of bars: its label and a value per series (in series order).
pub struct Group {
    pub label: String,
    pub values: Vec<f64>,
}

/// A grouped bar chart of `groups`, one bar per series in each, with a
/// legend. `unit` labels the value axis.
pub fn grouped_bars(title: &str, unit: &str, series: &[&str], groups: &[Group]) -> String {
    let (left, top, bar, gap, height) = (70.0, 60.0, 22.0, 28.0, 260.0);
    let group_width = bar * series.len() as f64 + gap;
    // Wide enough for the title and the legend however few the groups.
    let legend: f64 = series.iter().map(|n| 24.0 + 7.5 * n.len() as f64).sum();
    let width = (left + group_width * groups.len() as f64 + 20.0)
        .max(left + legend + 20.0)
        .max(left + 8.5 * title.len() as f64 + 20.0);
    let max = groups
        .iter()
        .flat_map(|g| g.values.iter().copied())
        .fold(0.0f64, f64::max);
    let scale_max = nice_ceiling(max);
    let y = |v: f64| top + height - v / scale_max * height;
    let mut svg = String::new();
    let total_height = top + height + 60.0;
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{total_height:.0}" font-family="DejaVu Sans, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{left}" y="22" font-size="15" font-weight="bold">{}</text>
"##,
        escape(title)
    );
    for i in 0..=4 {
        let v = scale_max * i as f64 / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{:.0}" y1="{:.1}" y2="{:.1}" stroke="#e5e7eb"/><text x="{:.0}" y="{:.1}" text-anchor="end" fill="#374151">{}</text>"##,
            width - 20.0,
            y(v),
            y(v),
            left - 6.0,
            y(v) + 4.0,
            format_value(v)
        );
    }
    let _ = writeln!(
        svg,
        r##"<text transform="translate(16 {:.0}) rotate(-90)" text-anchor="middle" fill="#374151">{}</text>"##,
        top + height / 2.0,
        escape(unit)
    );
    for (g, group) in groups.iter().enumerate() {
        let x0 = left + gap / 2.0 + g as f64 * group_width;
        for (s, value) in group.values.iter().enumerate() {
            let x = x0 + s as f64 * bar;
            let _ = writeln!(
                svg,
                r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"##,
                y(*value),
                bar - 2.0,
                top + height - y(*value),
                COLOURS[s % COLOURS.len()],
                escape(series.get(s).copied().unwrap_or("")),
                format_value(*value)
            );
        }
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.0}" text-anchor="middle" fill="#111827">{}</text>"##,
            x0 + bar * series.len() as f64 / 2.0,
            top + height + 18.0,
            escape(&group.label)
        );
    }
    let mut x = left;
    for (s, name) in series.iter().enumerate() {
        let _ = writeln!(
            svg,
            r##"<rect x="{x:.0}" y="34" width="12" height="12" fill="{}"/><text x="{:.0}" y="44">{}</text>"##,
            COLOURS[s % COLOURS.len()],
            x + 16.0,
            escape(name)
        );
        x += 24.0 + 7.5 * name.len() as f64;
    }
    svg.push_str("</svg>\n");
    svg
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

fn format_value(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(730.0), 1000.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(2.0), 2.0);
    }

    #[test]
    fn a_chart_holds_a_bar_per_value_and_escapes_labels() {
        let svg = grouped_bars(
            "jobs/s",
            "jobs per second",
            &["a", "b"],
            &[Group {
                label: "1 <process>".into(),
                values: vec![3.0, 4.5],
            }],
        );
        assert_eq!(
            svg.matches("<rect x=").count(),
            2 + 2,
            "two bars, two legend keys"
        );
        assert!(svg.contains("1 &lt;process&gt;"));
    }
}
