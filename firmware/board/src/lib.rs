//! Board description files.
