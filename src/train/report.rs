//! `report.html`: a self-contained page (inline SVG, no scripts, no network) with the training
//! and validation curves and the final metrics.

use crate::train::EpochLog;

fn polyline(points: &[(f64, f64)], x0: f64, x1: f64, y0: f64, y1: f64, colour: &str) -> String {
    let (w, h, pad) = (560.0, 220.0, 40.0);
    let sx = |x: f64| pad + (x - x0) / (x1 - x0).max(1e-12) * (w - 2.0 * pad);
    let sy = |y: f64| h - pad - (y - y0) / (y1 - y0).max(1e-12) * (h - 2.0 * pad);
    let pts: Vec<String> = points
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
        .collect();
    format!(
        r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
        pts.join(" ")
    )
}

/// One line of a chart: name, colour and (x, y) points.
type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

fn chart(title: &str, series: &[Series]) -> String {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.2.iter().copied()).collect();
    if all.is_empty() {
        return String::new();
    }
    let x0 = all.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x1 = all.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let y0 = all.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y1 = all.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let mut svg = format!(
        r##"<figure><figcaption>{title}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="560" height="220" role="img" aria-label="{title}">
<rect x="40" y="40" width="480" height="140" fill="#fafafa" stroke="#ccc"/>
<text x="36" y="44" text-anchor="end" font-size="11">{y1:.4}</text><text x="36" y="184" text-anchor="end" font-size="11">{y0:.4}</text>
<text x="40" y="198" font-size="11">epoch {x0}</text><text x="520" y="198" text-anchor="end" font-size="11">{x1}</text>"##
    );
    for (i, (name, colour, pts)) in series.iter().enumerate() {
        svg.push_str(&polyline(pts, x0, x1, y0, y1, colour));
        svg.push_str(&format!(
            r#"<text x="{}" y="20" font-size="12" fill="{colour}">{name}</text>"#,
            60 + i * 140
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the report page from the curve and the final report JSON.
pub fn html(curve: &[EpochLog], report: &serde_json::Value) -> String {
    let e = |f: fn(&EpochLog) -> f64| {
        curve
            .iter()
            .map(|l| (l.epoch as f64, f(l)))
            .collect::<Vec<_>>()
    };
    let loss = chart("training loss", &[("loss", "#c0392b", e(|l| l.loss))]);
    let valid = chart(
        "validation (full ranking)",
        &[
            ("NDCG@10", "#2471a3", e(|l| l.valid.ndcg10)),
            ("HR@10", "#229954", e(|l| l.valid.hr10)),
        ],
    );
    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>localrec training report</title>
<style>body{{font:14px system-ui,sans-serif;max-width:760px;margin:2em auto;color:#222}}pre{{background:#f4f4f4;padding:1em;overflow:auto;font-size:12px}}figure{{margin:1em 0}}</style>
</head><body><h1>localrec training report</h1>
{loss}
{valid}
<h2>report.json</h2><pre>{}</pre></body></html>
"#,
        escape(&json)
    )
}
