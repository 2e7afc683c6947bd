//! lockdiag: what is wrong with locks on a MySQL or MariaDB server.
//!
//! Data flows one way: a [`source`] (live server, status text, error log)
//! builds the [`model`], [`analyze`] computes graphs and diagnoses over it,
//! and [`render`] prints the result; [`cli`] wires them to the command line.

pub mod act;
pub mod analyze;
pub mod cli;
pub mod model;
pub mod parse;
pub mod render;
pub mod source;
