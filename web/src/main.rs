//! Placeholder: the web app lands with its issue.
fn main() {}
