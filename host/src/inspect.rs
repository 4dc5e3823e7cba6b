//! `host inspect`: what a gateway operator loads: world, imports, size, hash.

use crate::plugin::Plugin;
use anyhow::{Context, Result};
use std::fmt::Write as _;

/// The plugin's WIT, as decoded from the component itself (not from our sources).
pub fn wit_text(bytes: &[u8]) -> Result<String> {
    let decoded = wit_component::decode(bytes).context("cannot decode the component's WIT")?;
    let resolve = decoded.resolve();
    let main = decoded.package();
    let nested: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    let mut printer = wit_component::WitPrinter::default();
    printer.print(resolve, main, &nested)?;
    Ok(printer.output.to_string())
}

pub fn render(plugin: &Plugin, bytes: &[u8], name: &str) -> Result<String> {
    let mut s = String::new();
    let imports = plugin.imports();
    writeln!(s, "plugin:  {name}")?;
    writeln!(s, "size:    {} bytes", plugin.size())?;
    writeln!(s, "sha256:  {}", plugin.sha256())?;
    writeln!(
        s,
        "imports: {}",
        if imports.is_empty() {
            "none (a pure function: no WASI, no host calls)".to_string()
        } else {
            imports.join(", ")
        }
    )?;
    writeln!(s, "exports: {}", plugin.exports().join(", "))?;
    writeln!(s, "\n{}", wit_text(bytes)?)?;
    Ok(s)
}
