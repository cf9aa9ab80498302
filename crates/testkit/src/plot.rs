//! Bar charts as SVG for the benchmarks, drawn with plotters: groups of
//! bars, one colour per series, a legend and a labelled value axis.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const COLOURS: &[RGBColor] = &[
    RGBColor(0x25, 0x63, 0xeb),
    RGBColor(0x16, 0xa3, 0x4a),
    RGBColor(0xd9, 0x77, 0x06),
    RGBColor(0x93, 0x33, 0xea),
    RGBColor(0xdc, 0x26, 0x26),
    RGBColor(0x08, 0x91, 0xb2),
];

/// One group of bars: its label and a value per series (in series order).
pub struct Group {
    pub label: String,
    pub values: Vec<f64>,
}

/// A grouped bar chart of `groups`, one bar per series in each, with a
/// legend. `unit` labels the value axis.
pub fn grouped_bars(title: &str, unit: &str, series: &[&str], groups: &[Group]) -> String {
    let bars = series.len().max(1);
    // Wide enough for the bars, and for the title however few they are.
    let width = (110 + groups.len() * (bars * 26 + 30))
        .max(100 + 9 * title.len())
        .max(480) as u32;
    let max = groups
        .iter()
        .flat_map(|g| g.values.iter().copied())
        .fold(0.0f64, f64::max);
    // Headroom above the tallest bar for the legend.
    let top = nice_ceiling(max * (1.0 + 0.1 * bars as f64));
    let mut svg = String::new();
    draw(&mut svg, (width, 380), title, unit, series, groups, top)
        .expect("drawing into a string does not fail");
    svg
}

fn draw(
    svg: &mut String,
    size: (u32, u32),
    title: &str,
    unit: &str,
    series: &[&str],
    groups: &[Group],
    top: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(62)
        .build_cartesian_2d(0f64..groups.len() as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        // The groups are named under their bars, below.
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(&|v| format_value(*v))
        .y_desc(unit)
        .draw()?;
    // Each series takes its slice of a group, half a slice of space on
    // either side.
    let slice = 1.0 / (series.len().max(1) as f64 + 1.0);
    for (s, name) in series.iter().enumerate() {
        let colour = COLOURS[s % COLOURS.len()];
        chart
            .draw_series(groups.iter().enumerate().filter_map(|(g, group)| {
                let value = *group.values.get(s)?;
                let x = g as f64 + slice * (s as f64 + 0.5);
                let mut bar = Rectangle::new([(x, 0.0), (x + slice, value)], colour.filled());
                bar.set_margin(0, 0, 1, 1);
                Some(bar)
            }))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
    }
    let under_bars = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (g, group) in groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
        root.draw(&Text::new(
            group.label.clone(),
            (x, y + 8),
            under_bars.clone(),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.2))
        .draw()?;
    root.present()?;
    Ok(())
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
    fn a_chart_holds_a_bar_per_value_a_legend_and_escaped_labels() {
        let svg = grouped_bars(
            "jobs/s",
            "jobs per second",
            &["a", "b"],
            &[Group {
                label: "1 <process>".into(),
                values: vec![3.0, 4.5],
            }],
        );
        for colour in ["#2563EB", "#16A34A"] {
            // The bar and its legend key.
            assert_eq!(svg.matches(colour).count(), 2, "{colour} in {svg}");
        }
        assert!(svg.contains("1 &lt;process&gt;"), "{svg}");
        assert!(svg.contains("jobs per second"));
    }
}
