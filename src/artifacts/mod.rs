//! Artifacts: facts and narrative rendered into what people read and open (HTML, Markdown,
//! XLSX, slides). Rendering writes bytes; the store decides where they go.

pub mod demand_consensus;
