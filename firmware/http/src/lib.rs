//! The HTTP/1.1 side of the WS-Man endpoint.
#![no_std]

extern crate alloc;
