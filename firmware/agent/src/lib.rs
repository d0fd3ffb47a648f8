//! The agent: the shared core of every wsbmc image.
#![no_std]

extern crate alloc;
