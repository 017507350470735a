//! Where cutover keeps its files.
