//! Search quality checks on the arXiv fixture: typos, hybrid ranking, suggestions and facets.

use docsearch_e2e::arxiv::ArxivFixture;

/// Runs every check of this module.
pub async fn run_all(_fixture: &ArxivFixture) {}
