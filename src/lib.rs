//! # birdnn
//!
//! Repairs small deep neural networks so that they satisfy safety properties (BIRDNN:
//! behaviour imitation), and measures what the repair kept.
//!
//! This library is the core shared by the `birdnn` command line program and the browser app.
//! It never depends on a web crate and never touches the file system outside the thin path
//! helpers of [`formats`], so it builds and tests natively and for `wasm32-unknown-unknown`.
//!
//! Data flows one way: file ([`formats`]) -> model ([`network`]) -> property ([`property`])
//! -> samples ([`sampling`], [`falsify`]) -> [`repair`] -> [`measures`] -> picture. Image
//! classifiers add [`images`]: labelled image sets, their robustness properties, and the
//! image benchmark built from them.
#![warn(missing_docs)]

pub mod demos;
pub mod falsify;
pub mod formats;
pub mod images;
pub mod measures;
pub mod network;
pub mod picture;
pub mod property;
pub mod protocol;
pub mod repair;
pub mod rng;
pub mod sampling;
pub mod slice;
pub mod tensor;
pub mod verify;
pub mod worker;

/// The README's code, run as doctests so that its library example keeps compiling and working.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
