//! Charts drawn on the server as SVG, so that they show without JavaScript
//! and in every browser: horizontal bars for counts over a category, a line
//! for counts over dates.

use std::fmt::Write;

/// Escapes text for XML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// How wide a label is drawn, in units of an ASCII character.
fn label_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// Bars, one per `(label, value)`, largest values as given. `title` is the
/// accessible name.
pub(crate) fn bars(title: &str, points: &[(String, f64)]) -> String {
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let label_chars = points.iter().map(|(l, _)| label_width(l)).max().unwrap_or(4).clamp(4, 28);
    let label_px = label_chars as f64 * 7.0 + 12.0;
    let bar_px = 360.0;
    let row = 26.0;
    let width = label_px + bar_px + 80.0;
    let height = row * points.len() as f64 + 8.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (i, (label, value)) in points.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let length = (value / max * bar_px).max(1.0);
        let shown: String =
            if label_width(label) > 28 { label.chars().take(13).chain(['…']).collect() } else { label.clone() };
        let _ = write!(
            svg,
            r#"<text x="{:.0}" y="{:.0}" text-anchor="end" class="label">{}</text><rect x="{label_px:.0}" y="{y:.0}" width="{length:.1}" height="18" class="bar"><title>{}: {}</title></rect><text x="{:.0}" y="{:.0}" class="value">{}</text>"#,
            label_px - 8.0,
            y + 14.0,
            escape(&shown),
            escape(label),
            format_value(*value),
            label_px + length + 6.0,
            y + 14.0,
            format_value(*value),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line through `(label, value)` points in order (dates ascending).
pub(crate) fn line(title: &str, points: &[(String, f64)]) -> String {
    let (width, height, left, bottom, top) = (640.0, 240.0, 56.0, 28.0, 12.0);
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let plot_w = width - left - 12.0;
    let plot_h = height - bottom - top;
    let step = if points.len() > 1 { plot_w / (points.len() - 1) as f64 } else { 0.0 };
    let coordinates: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", left + step * i as f64, top + plot_h - v / max * plot_h))
        .collect();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let _ = write!(
        svg,
        r#"<line x1="{left}" y1="{:.0}" x2="{:.0}" y2="{:.0}" class="axis"/><line x1="{left}" y1="{top}" x2="{left}" y2="{:.0}" class="axis"/><text x="{:.0}" y="{:.0}" text-anchor="end" class="value">{}</text><text x="{:.0}" y="{:.0}" text-anchor="end" class="value">0</text>"#,
        top + plot_h,
        left + plot_w,
        top + plot_h,
        top + plot_h,
        left - 6.0,
        top + 10.0,
        format_value(max),
        left - 6.0,
        top + plot_h,
    );
    let _ = write!(svg, r#"<polyline points="{}" class="line"/>"#, coordinates.join(" "));
    if let (Some((first, _)), Some((last, _))) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            r#"<text x="{left}" y="{:.0}" class="label">{}</text><text x="{:.0}" y="{:.0}" text-anchor="end" class="label">{}</text>"#,
            height - 8.0,
            escape(first),
            left + plot_w,
            height - 8.0,
            escape(last)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let svg = bars("天气 <按类>", &[("雨".into(), 10.0), ("<b>".into(), 5.0)]);
        assert!(svg.contains("aria-label=\"天气 &lt;按类&gt;\""));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains(r#"width="360.0""#) && svg.contains(r#"width="180.0""#), "{svg}");
    }

    #[test]
    fn a_line_runs_from_the_first_to_the_last_label() {
        let svg = line("按日期", &[("2024-01-01".into(), 1.0), ("2024-01-02".into(), 3.0), ("2024-01-03".into(), 2.0)]);
        assert!(svg.contains("<polyline points=\"56.0,"));
        assert!(svg.contains(">2024-01-01<") && svg.contains(">2024-01-03<"));
    }
}
