// Package datasets loads and transforms training data for tkx recipes:
// JSONL conversation files (the cookbook's FromConversationFileBuilder),
// Hugging Face datasets stored as Parquet or JSON lines in a local folder
// or in the hub cache (downloaded with HF_TOKEN through package hfhub),
// splits, a deterministic shuffle identical to HF datasets' shuffle(seed),
// take/skip/filter/map/concat, batching with per-epoch reshuffles, and
// streaming for data larger than memory.
//
// Two shapes of data:
//
//   - *Dataset holds rows in memory with random access (Len, Row). Views
//     made by Shuffle, Take, Skip and Select share the rows and only carry
//     an index list, so they are cheap. Filter and Map run eagerly, like
//     HF's map-style datasets.
//   - *Stream is a lazily evaluated, restartable sequence of rows: every
//     Open starts a new pass. JSONL and Parquet files stream row by row
//     (Parquet row group by row group), so a Stream never holds the whole
//     file. Take/Skip/Filter/Map/Concat are lazy; Shuffle uses a bounded
//     buffer; Collect turns a Stream into a Dataset.
//
// Rows are map[string]any with JSON-like values: string, bool, int64,
// float64, nil, []any and map[string]any. Rows are shared between views and
// must be treated as immutable; Map returns new rows.
//
// Paths name files through a small scheme registry (see path.go): plain
// local paths and file://, hf://datasets/ORG/NAME[@REV]/FILE, and any
// scheme registered later with RegisterScheme (s3:// plugs in there).
package datasets
