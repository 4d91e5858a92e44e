//! Which files a plan reads, so that an error raised while reading data (a
//! malformed CSV row, a value that does not parse) names the file. DataFusion
//! reports such errors without the path; the plan knows it.

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::{ViewTable, source_as_provider};
use datafusion::logical_expr::LogicalPlan;

use crate::error::Error;

/// Words DataFusion and arrow use in errors about the data in a file.
const READ_ERROR_MARKERS: &[&str] = &[
    "csv error",
    "json error",
    "parquet error",
    "incorrect number of fields",
    "error while parsing value",
    "unexpected end of file",
];

/// Adds the files `df` reads to `err` when it is an error about file data.
pub(crate) fn name_files(err: Error, df: &DataFrame) -> Error {
    let Error::Statement { message, span } = &err else {
        return err;
    };
    let lower = message.to_lowercase();
    if !READ_ERROR_MARKERS.iter().any(|m| lower.contains(m)) {
        return err;
    }
    let mut files = Vec::new();
    collect(df.logical_plan(), &mut files);
    if files.is_empty() {
        return err;
    }
    let list = files
        .iter()
        .map(|f| format!("'{f}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Error::at(*span, format!("{message} (reading {list})"))
}

/// The paths (as the user would write them) of every file table in `plan`,
/// looking through views and subqueries.
fn collect(plan: &LogicalPlan, out: &mut Vec<String>) {
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Ok(provider) = source_as_provider(&scan.source)
        {
            if let Some(listing) = provider.downcast_ref::<ListingTable>() {
                for url in listing.table_paths() {
                    let path = url.as_str();
                    let path = path.strip_prefix("file://").unwrap_or(path).to_string();
                    if !out.contains(&path) {
                        out.push(path);
                    }
                }
            } else if let Some(view) = provider.downcast_ref::<ViewTable>() {
                collect(view.logical_plan(), out);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
}
