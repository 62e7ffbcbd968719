//! Tests of the reader over whole files.
