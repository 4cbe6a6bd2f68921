//! `localrec inspect`: a model file's header; `localrec upgrade`: the file as the newest version.

use std::path::Path;

use anyhow::{Context, Result};
use localrec::format;
use serde_json::json;

pub fn run(file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (header, payload, sha256, version) = format::read_header(&bytes)?;
    let out = json!({
        "format_version": version,
        "bytes": bytes.len(),
        "payload_bytes": payload.len(),
        "sha256": sha256,
        "config": header.config,
        "items": header.items.len(),
        "first_items": header.items.iter().take(5).collect::<Vec<_>>(),
        "has_catalog": header.catalog.is_some(),
        "has_attributes": !header.attributes.is_empty(),
        "tensors": header.tensors,
        "shards": header.shards.as_ref().map(|s| json!({
            "catalog_items": s.total_items,
            "shards": s.shards.len(),
            "shard_bytes": s.shards.iter().map(|e| e.bytes).sum::<usize>(),
        })),
        "provenance": header.provenance,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

pub fn upgrade(file: &Path, output: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (upgraded, from) = format::upgrade(&bytes)?;
    std::fs::write(output, &upgraded)
        .with_context(|| format!("cannot write {}", output.display()))?;
    eprintln!(
        "{}: format version {from} -> {}, {} -> {} bytes",
        output.display(),
        format::FORMAT_VERSION,
        bytes.len(),
        upgraded.len()
    );
    Ok(())
}
