//! lockdiag: what is wrong with locks on a MySQL or MariaDB server.
//!
//! Data flows one way: a source (live server, status text, error log, saved
//! snapshot) builds the [`model`], [`analyze`] computes graphs and diagnoses
//! over it, and [`render`] prints the result.

pub mod analyze;
pub mod model;
pub mod parse;
