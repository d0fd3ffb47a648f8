//! IPMI wire formats and code tables, `no_std` and allocation-free.
#![no_std]
