//! fsql's language: FugueSQL scripts plus standard SQL, parsed into a
//! [`Script`] whose nodes carry source spans. Parsing only — nothing here
//! executes. Standard SQL is parsed by DataFusion's own `sqlparser`, so fsql
//! accepts exactly the SQL DataFusion accepts.
//!
//! ```
//! let script = fsql_sql::parse("t = CREATE [[1,\"a\"]] SCHEMA id:int,name:str\nPRINT").unwrap();
//! assert_eq!(script.steps.len(), 2);
//! ```

pub mod ast;
mod chains;
mod cursor;
mod data_tokens;
mod display;
mod error;
mod extent;
mod fugue;
mod ml;
mod parser;
mod transform;
mod values;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use datafusion::sql::sqlparser;
pub use error::ParseError;
pub use parser::parse;
pub use transform::parse_output_schema;
