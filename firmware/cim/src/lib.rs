//! The CIM model of the BMC.
#![no_std]

extern crate alloc;
