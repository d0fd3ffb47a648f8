//! Line requests on the GPIO character device (`/dev/gpiochipN`, uAPI v2, Linux ≥ 5.10),
//! written against `include/uapi/linux/gpio.h`: the sysfs interface is deprecated, and a line
//! request also guarantees no other process toggles the power button under us.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const LINES_MAX: usize = 64;
const NAME_SIZE: usize = 32;
const NUM_ATTRS_MAX: usize = 10;

const FLAG_ACTIVE_LOW: u64 = 1 << 1;
const FLAG_INPUT: u64 = 1 << 2;
const FLAG_OUTPUT: u64 = 1 << 3;

#[repr(C)]
#[derive(Clone, Copy)]
struct LineAttribute {
    id: u32,
    padding: u32,
    value: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct LineConfigAttribute {
    attr: LineAttribute,
    mask: u64,
}

#[repr(C)]
struct LineConfig {
    flags: u64,
    num_attrs: u32,
    padding: [u32; 5],
    attrs: [LineConfigAttribute; NUM_ATTRS_MAX],
}

#[repr(C)]
struct LineRequest {
    offsets: [u32; LINES_MAX],
    consumer: [u8; NAME_SIZE],
    config: LineConfig,
    num_lines: u32,
    event_buffer_size: u32,
    padding: [u32; 5],
    fd: i32,
}

/// `struct gpiochip_info`.
#[repr(C)]
struct ChipInfo {
    name: [u8; NAME_SIZE],
    label: [u8; NAME_SIZE],
    lines: u32,
}

/// `struct gpio_v2_line_info`.
#[repr(C)]
struct LineInfo {
    name: [u8; NAME_SIZE],
    consumer: [u8; NAME_SIZE],
    offset: u32,
    num_attrs: u32,
    flags: u64,
    attrs: [LineAttribute; NUM_ATTRS_MAX],
    padding: [u32; 4],
}

#[repr(C)]
struct LineValues {
    bits: u64,
    mask: u64,
}

/// `_IOWR(type, nr, size)` as the kernel's ioctl.h builds it.
const fn iowr(ty: u32, nr: u32, size: usize) -> u32 {
    (3 << 30) | ((size as u32) << 16) | (ty << 8) | nr
}

/// `_IOR(type, nr, size)`.
const fn ior(ty: u32, nr: u32, size: usize) -> u32 {
    (2 << 30) | ((size as u32) << 16) | (ty << 8) | nr
}

const GET_CHIPINFO: u32 = ior(0xB4, 0x01, std::mem::size_of::<ChipInfo>());
const GET_LINEINFO: u32 = iowr(0xB4, 0x05, std::mem::size_of::<LineInfo>());
const GET_LINE: u32 = iowr(0xB4, 0x07, std::mem::size_of::<LineRequest>());
const GET_VALUES: u32 = iowr(0xB4, 0x0E, std::mem::size_of::<LineValues>());
const SET_VALUES: u32 = iowr(0xB4, 0x0F, std::mem::size_of::<LineValues>());

#[derive(Debug)]
pub enum GpioError {
    Open(std::io::Error),
    Request(std::io::Error),
    Io(std::io::Error),
    /// No `/dev/gpiochip*` has this name or label.
    NoChip(String),
    /// The chip has no line of this name.
    NoLine(String),
}

impl std::fmt::Display for GpioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GpioError::Open(e) => write!(f, "open: {e}"),
            GpioError::Request(e) => write!(f, "line request: {e}"),
            GpioError::Io(e) => write!(f, "line value: {e}"),
            GpioError::NoChip(name) => write!(
                f,
                "no GPIO chip named or labelled \"{name}\" in /dev (is its driver loaded?)"
            ),
            GpioError::NoLine(name) => write!(f, "the chip has no line named \"{name}\""),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineDirection {
    Input,
    /// Output, starting inactive.
    Output,
}

fn open_chip(path: &str) -> Result<File, GpioError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(GpioError::Open)
}

/// The C string in a fixed kernel buffer (NUL-terminated unless it fills the buffer).
fn c_str(buf: &[u8]) -> &[u8] {
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    &buf[..end]
}

fn chip_info(chip: &File) -> Result<ChipInfo, GpioError> {
    // SAFETY: all-zero is a valid value of this plain-integer struct.
    let mut info: ChipInfo = unsafe { std::mem::zeroed() };
    // SAFETY: GET_CHIPINFO writes a gpiochip_info, whose layout ChipInfo mirrors.
    let r = unsafe { libc::ioctl(chip.as_raw_fd(), GET_CHIPINFO as _, &mut info) };
    if r < 0 {
        return Err(GpioError::Io(std::io::Error::last_os_error()));
    }
    Ok(info)
}

/// The device path of a chip given as a path (`/dev/gpiochip0`, used as is) or as the chip's
/// name or label (`gpiochip0`, `1e780000.gpio`). Chip numbers follow probe order, which a new
/// driver in the image can change; the label is the controller's address and does not move.
pub fn find_chip(chip: &str) -> Result<String, GpioError> {
    if chip.starts_with('/') {
        return Ok(chip.to_string());
    }
    let mut paths: Vec<String> = std::fs::read_dir("/dev")
        .map_err(GpioError::Open)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("gpiochip"))
        .map(|n| format!("/dev/{n}"))
        .collect();
    paths.sort();
    for path in paths {
        // A chip that cannot be opened or asked is not the one named; keep looking.
        let Ok(info) = open_chip(&path).and_then(|f| chip_info(&f)) else {
            continue;
        };
        if c_str(&info.name) == chip.as_bytes() || c_str(&info.label) == chip.as_bytes() {
            return Ok(path);
        }
    }
    Err(GpioError::NoChip(chip.to_string()))
}

/// The offset of the line named `name` (the device tree's `gpio-line-names`) on the chip at
/// `path`; the first one if the tree names two lines alike.
pub fn find_line(path: &str, name: &str) -> Result<u32, GpioError> {
    let chip = open_chip(path)?;
    let lines = chip_info(&chip)?.lines;
    for offset in 0..lines {
        // SAFETY: all-zero is a valid value of this plain-integer struct.
        let mut info: LineInfo = unsafe { std::mem::zeroed() };
        info.offset = offset;
        // SAFETY: GET_LINEINFO reads `offset` and writes a gpio_v2_line_info, whose layout
        // LineInfo mirrors (size checked in the tests).
        let r = unsafe { libc::ioctl(chip.as_raw_fd(), GET_LINEINFO as _, &mut info) };
        if r < 0 {
            return Err(GpioError::Io(std::io::Error::last_os_error()));
        }
        if c_str(&info.name) == name.as_bytes() {
            return Ok(offset);
        }
    }
    Err(GpioError::NoLine(name.to_string()))
}

/// A set of requested lines of one chip, all in one direction. Values are logical (active =
/// true); `active_low` lines are inverted by the kernel.
pub struct Lines {
    fd: OwnedFd,
    count: usize,
}

impl Lines {
    pub fn request(
        chip: &str,
        offsets: &[u32],
        direction: LineDirection,
        active_low: bool,
        consumer: &str,
    ) -> Result<Lines, GpioError> {
        if offsets.is_empty() || offsets.len() > LINES_MAX {
            return Err(GpioError::Request(std::io::Error::from(
                std::io::ErrorKind::InvalidInput,
            )));
        }
        let chip = open_chip(chip)?;
        // SAFETY: all-zero is a valid value of these plain-integer structs.
        let mut req: LineRequest = unsafe { std::mem::zeroed() };
        req.offsets[..offsets.len()].copy_from_slice(offsets);
        let name = consumer.as_bytes();
        let n = name.len().min(NAME_SIZE - 1);
        req.consumer[..n].copy_from_slice(&name[..n]);
        req.num_lines = offsets.len() as u32;
        req.config.flags = match direction {
            LineDirection::Input => FLAG_INPUT,
            LineDirection::Output => FLAG_OUTPUT,
        } | if active_low { FLAG_ACTIVE_LOW } else { 0 };
        // SAFETY: GET_LINE takes a pointer to a gpio_v2_line_request, whose layout LineRequest
        // mirrors (size checked in the tests); the kernel writes only `fd`.
        let r = unsafe { libc::ioctl(chip.as_raw_fd(), GET_LINE as _, &mut req) };
        if r < 0 || req.fd < 0 {
            return Err(GpioError::Request(std::io::Error::last_os_error()));
        }
        // SAFETY: the kernel just handed us this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(req.fd) };
        Ok(Lines {
            fd,
            count: offsets.len(),
        })
    }

    fn mask(&self) -> u64 {
        if self.count >= 64 {
            u64::MAX
        } else {
            (1u64 << self.count) - 1
        }
    }

    /// Logical values, bit i for the i-th requested line.
    pub fn get(&self) -> Result<u64, GpioError> {
        let mut v = LineValues {
            bits: 0,
            mask: self.mask(),
        };
        // SAFETY: GET_VALUES takes a pointer to gpio_v2_line_values, mirrored by LineValues.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), GET_VALUES as _, &mut v) };
        if r < 0 {
            return Err(GpioError::Io(std::io::Error::last_os_error()));
        }
        Ok(v.bits)
    }

    pub fn set(&self, bits: u64) -> Result<(), GpioError> {
        let mut v = LineValues {
            bits,
            mask: self.mask(),
        };
        // SAFETY: as in `get`.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), SET_VALUES as _, &mut v) };
        if r < 0 {
            return Err(GpioError::Io(std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

/// GPIO inputs of discrete sensors: one input request per line, read on each poll. Levels
/// are electrical (no active-low flag): the monitor applies each sensor's own polarity, since
/// two sensors may read one line.
pub struct GpioInputLines {
    lines: Vec<Lines>,
}

impl GpioInputLines {
    /// Requests every `(chip, line)` as an input. `line` is an offset or a line name; the error
    /// names the line and chip that could not be had (held by another consumer, absent).
    pub fn request(inputs: &[(String, crate::LineRef)]) -> Result<Self, String> {
        let mut lines = Vec::with_capacity(inputs.len());
        for (chip, line) in inputs {
            let path = find_chip(chip).map_err(|e| format!("gpio chip {chip:?}: {e}"))?;
            let offset = match line {
                crate::LineRef::Offset(n) => *n,
                crate::LineRef::Name(name) => {
                    find_line(&path, name).map_err(|e| format!("gpio {name:?} on {chip:?}: {e}"))?
                }
            };
            let l = Lines::request(
                &path,
                &[offset],
                LineDirection::Input,
                false,
                "wsbmc-sensor",
            )
            .map_err(|e| format!("gpio line {offset} on {chip:?}: {e}"))?;
            lines.push(l);
        }
        Ok(Self { lines })
    }
}

impl wsbmc_hal::GpioInputs for GpioInputLines {
    fn level(&mut self, line: u16) -> Result<bool, wsbmc_hal::DeviceError> {
        let l = self
            .lines
            .get(usize::from(line))
            .ok_or(wsbmc_hal::DeviceError::NoSuchChannel)?;
        l.get()
            .map(|bits| bits & 1 != 0)
            .map_err(|_| wsbmc_hal::DeviceError::Bus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_lines_are_requested_or_named_in_the_error() {
        use wsbmc_hal::GpioInputs;
        let mut none = GpioInputLines::request(&[]).unwrap();
        assert_eq!(none.level(0), Err(wsbmc_hal::DeviceError::NoSuchChannel));
        let e = GpioInputLines::request(&[(
            "/nonexistent/gpiochip9".into(),
            crate::LineRef::Offset(4),
        )])
        .err()
        .unwrap();
        assert!(e.contains("line 4") && e.contains("gpiochip9"), "{e}");
        let e = GpioInputLines::request(&[(
            "no-such-label.gpio".into(),
            crate::LineRef::Name("INTRUSION".into()),
        )])
        .err()
        .unwrap();
        assert!(e.contains("no-such-label.gpio"), "{e}");
    }

    #[test]
    fn structs_match_the_kernel_abi() {
        // Sizes from include/uapi/linux/gpio.h (they are fixed by the ABI).
        assert_eq!(std::mem::size_of::<LineAttribute>(), 16);
        assert_eq!(std::mem::size_of::<LineConfigAttribute>(), 24);
        assert_eq!(std::mem::size_of::<LineConfig>(), 272);
        assert_eq!(std::mem::size_of::<LineRequest>(), 592);
        assert_eq!(std::mem::size_of::<LineValues>(), 16);
        assert_eq!(std::mem::size_of::<ChipInfo>(), 68);
        assert_eq!(std::mem::size_of::<LineInfo>(), 256);
        assert_eq!(GET_CHIPINFO, 0x8044_B401);
        assert_eq!(GET_LINEINFO, 0xC100_B405);
        assert_eq!(GET_LINE, 0xC250_B407);
        assert_eq!(GET_VALUES, 0xC010_B40E);
        assert_eq!(SET_VALUES, 0xC010_B40F);
    }

    #[test]
    fn missing_chip_is_an_open_error() {
        let r = Lines::request(
            "/nonexistent/gpiochip9",
            &[1],
            LineDirection::Input,
            false,
            "t",
        );
        assert!(matches!(r, Err(GpioError::Open(_))));
        let r = Lines::request("/dev/null", &[], LineDirection::Input, false, "t");
        assert!(matches!(r, Err(GpioError::Request(_))));
    }

    #[test]
    fn chips_and_lines_are_found_or_named_in_the_error() {
        assert_eq!(find_chip("/dev/gpiochip7").unwrap(), "/dev/gpiochip7");
        let e = find_chip("no-such-label.gpio").unwrap_err();
        assert!(matches!(&e, GpioError::NoChip(n) if n == "no-such-label.gpio"));
        assert!(e.to_string().contains("\"no-such-label.gpio\""), "{e}");
        // /dev/null is no GPIO chip: the ioctl fails, it is not "line not found".
        assert!(matches!(find_line("/dev/null", "X"), Err(GpioError::Io(_))));
        assert!(matches!(
            find_line("/nonexistent/gpiochip0", "X"),
            Err(GpioError::Open(_))
        ));
        assert_eq!(c_str(b"ab\0cd"), b"ab");
        assert_eq!(c_str(b"abcd"), b"abcd");
    }
}
