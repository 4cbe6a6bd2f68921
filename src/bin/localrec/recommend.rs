//! `localrec recommend` and the hidden `golden`: the browser's ranking from the shell.

use std::path::Path;

use anyhow::{Context, Result};
use localrec::event::{Event, EventKind};
use localrec::runtime::{Engine, RecommendOptions};
use serde_json::json;

fn load_engine(path: &Path) -> Result<Engine> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Engine::load(&bytes, &localrec::cpu_device(), None)
        .with_context(|| format!("cannot load {}", path.display()))
}

pub fn run(model_path: &Path, history: &str, k: usize) -> Result<()> {
    let engine = load_engine(model_path)?;
    let mut events = Vec::new();
    for id in history.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        events.push(engine.validate(Event::item(EventKind::Purchase, id, 0.0))?);
    }
    let opts = RecommendOptions {
        k,
        ..RecommendOptions::default()
    };
    for r in engine.recommend_blocking(&events, &opts)? {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}

pub fn golden(model: &Path, histories: &Path) -> Result<()> {
    let engine = load_engine(model)?;
    let text = std::fs::read_to_string(histories)
        .with_context(|| format!("cannot read {}", histories.display()))?;
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text)?;
    let mut out = Vec::new();
    for case in cases {
        let history: Vec<Event> = serde_json::from_value(case["history"].clone())?;
        let recs = engine.recommend_blocking(&history, &RecommendOptions::default())?;
        out.push(json!({
            "history": history,
            "top10": recs.iter().map(|r| r.item_id.clone()).collect::<Vec<_>>(),
            "scores": recs.iter().map(|r| r.score).collect::<Vec<_>>(),
        }));
    }
    std::fs::write(histories, serde_json::to_string_pretty(&out)? + "\n")?;
    eprintln!(
        "wrote {} golden cases to {}",
        out.len(),
        histories.display()
    );
    Ok(())
}
