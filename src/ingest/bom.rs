//! Loops in the bill of materials, found where the rows still carry their file and row: a part
//! that contains itself, directly or through others, has no plan, and the rows that make the loop
//! are what a planner corrects.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::IngestError;

/// One BOM line: the component and where the line was read.
struct Edge {
    to: usize,
    file: String,
    sheet: Option<String>,
    row: u64,
}

/// Refuses a BOM (with `source_file`, `source_sheet` and `source_row`) whose lines make a loop,
/// naming the parts in order and the lines that link them.
pub(super) fn refuse_loops(bom: &DataFrame) -> Result<(), IngestError> {
    let err = |e: PolarsError| IngestError::Runtime(e.to_string());
    let text = |name: &str| -> Result<Vec<Option<String>>, IngestError> {
        let c = bom.column(name).map_err(err)?.cast(&DataType::String).map_err(err)?;
        Ok(c.str().map_err(err)?.iter().map(|v| v.map(str::to_string)).collect())
    };
    let (parent, component, file, sheet) =
        (text("parent_sku")?, text("component")?, text("source_file")?, text("source_sheet")?);
    let rows: Vec<u64> = {
        let c = bom.column("source_row").map_err(err)?.cast(&DataType::UInt64).map_err(err)?;
        c.u64().map_err(err)?.iter().map(|r| r.unwrap_or(0)).collect()
    };
    // Parts in name order, lines in file and row order: the loop reported is always the same.
    let mut ix: BTreeMap<&str, usize> = BTreeMap::new();
    for name in parent.iter().chain(&component).flatten() {
        ix.entry(name.as_str()).or_insert(0);
    }
    let names: Vec<&str> = ix.keys().copied().collect();
    for (i, n) in names.iter().enumerate() {
        ix.insert(n, i);
    }
    let mut children: Vec<Vec<Edge>> = (0..names.len()).map(|_| Vec::new()).collect();
    for i in 0..bom.height() {
        if let (Some(p), Some(c)) = (&parent[i], &component[i]) {
            let edge = Edge {
                to: ix[c.as_str()],
                file: file[i].clone().unwrap_or_default(),
                sheet: sheet[i].clone(),
                row: rows[i],
            };
            children[ix[p.as_str()]].push(edge);
        }
    }
    for list in &mut children {
        list.sort_by(|a, b| (&a.file, &a.sheet, a.row).cmp(&(&b.file, &b.sheet, b.row)));
    }
    let targets: Vec<Vec<usize>> = children.iter().map(|list| list.iter().map(|e| e.to).collect()).collect();
    match crate::analysis::graph::topological_order(&targets) {
        Err(lines) => Err(loop_error(&names, &children, &lines)),
        Ok(_) => Ok(()),
    }
}

fn loop_error(names: &[&str], children: &[Vec<Edge>], lines: &[(usize, usize)]) -> IngestError {
    let mut path: Vec<String> = lines.iter().map(|&(v, _)| format!("`{}`", names[v])).collect();
    path.push(path[0].clone());
    // The lines by file (and sheet), each file's rows in order.
    let mut by_file: BTreeMap<(String, Option<String>), Vec<u64>> = BTreeMap::new();
    for &(v, n) in lines {
        let e = &children[v][n];
        by_file.entry((e.file.clone(), e.sheet.clone())).or_default().push(e.row);
    }
    let rows: Vec<String> = by_file
        .into_iter()
        .map(|((file, sheet), mut rows)| {
            rows.sort_unstable();
            let sheet = sheet.map(|s| format!(" sheet `{s}`")).unwrap_or_default();
            let list = match rows.split_last() {
                Some((last, [])) => format!("row {last}"),
                Some((last, rest)) => {
                    format!("rows {} and {last}", rest.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))
                }
                None => String::new(),
            };
            format!("`{file}`{sheet} {list}")
        })
        .collect();
    IngestError::BomLoop { path: path.join(" -> "), rows: rows.join("; ") }
}
