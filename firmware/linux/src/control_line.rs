//! The control channel's request line: how its bytes become one bounded UTF-8 line
//! ([`LineReader`]) and how that line becomes a [`Command`]. Kept apart from `control.rs` (the
//! socket, and what a command does to the simulated board) so the fuzz crate (tests/fuzz, target
//! `control_line`) compiles this very file: it names nothing but std, wsbmc-hal and wsbmc-sim.

use wsbmc_hal::PowerRequest;
use wsbmc_sim::{PsuCondition, SimFault};

/// Longest request line, its newline not counted: a longer one is refused before it is parsed,
/// so a misbehaving client cannot make the agent buffer without limit.
pub const MAX_REQUEST: usize = 512;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Set {
        key: String,
        value: String,
    },
    Clear {
        key: String,
    },
    Fault {
        device: String,
        fault: Option<SimFault>,
    },
    Remove {
        device: String,
    },
    Insert {
        device: String,
    },
    Host {
        request: PowerRequest,
    },
    /// Append `count` "System Reconfigured" events to the SEL, to try a full or large log.
    SelFill {
        count: u16,
    },
    /// A power device's PMBus status.
    Psu {
        device: String,
        condition: PsuCondition,
    },
    /// A GPIO input's level, by its board-file name.
    Gpio {
        line: String,
        high: bool,
    },
    GpioFault {
        line: String,
        fault: Option<SimFault>,
    },
    Status,
}

impl Command {
    pub fn parse(line: &str) -> Result<Command, String> {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        let owned = |s: &str| s.to_string();
        match words.as_slice() {
            ["set", key, value] => Ok(Command::Set {
                key: owned(key),
                value: owned(value),
            }),
            ["clear", key] => Ok(Command::Clear { key: owned(key) }),
            ["fault", device, kind] => {
                let fault = match *kind {
                    "none" => None,
                    k => Some(SimFault::from_name(k).ok_or_else(|| {
                        format!(
                            "unknown fault {k:?} (nack, bus, timeout, stuck, slow, checksum, none)"
                        )
                    })?),
                };
                Ok(Command::Fault {
                    device: owned(device),
                    fault,
                })
            }
            ["remove", device] => Ok(Command::Remove {
                device: owned(device),
            }),
            ["insert", device] => Ok(Command::Insert {
                device: owned(device),
            }),
            ["host", state] => PowerRequest::from_name(state)
                .map(|request| Command::Host { request })
                .ok_or_else(|| {
                    format!("unknown host request {state:?} (on, off, force-off, cycle, reset)")
                }),
            ["sel", "fill", n] => match n.parse::<u16>() {
                Ok(count) if (1..=65_534).contains(&count) => Ok(Command::SelFill { count }),
                _ => Err(format!("sel fill takes a count from 1 to 65534, not {n:?}")),
            },
            ["psu", device, c] => PsuCondition::from_name(c)
                .map(|condition| Command::Psu {
                    device: owned(device),
                    condition,
                })
                .ok_or_else(|| {
                    format!("unknown psu condition {c:?} (ok, failed, input-lost, predictive)")
                }),
            ["gpio", line, level @ ("high" | "low")] => Ok(Command::Gpio {
                line: owned(line),
                high: *level == "high",
            }),
            ["gpio", line, "fault", kind] => {
                let fault = match *kind {
                    "none" => None,
                    k => Some(
                        SimFault::from_name(k)
                            .filter(|f| {
                                matches!(f, SimFault::Nack | SimFault::BusError | SimFault::Timeout)
                            })
                            .ok_or_else(|| {
                                format!("unknown gpio fault {k:?} (nack, bus, timeout, none)")
                            })?,
                    ),
                };
                Ok(Command::GpioFault {
                    line: owned(line),
                    fault,
                })
            }
            ["gpio", ..] => {
                Err("gpio takes LINE high|low, or LINE fault nack|bus|timeout|none".into())
            }
            ["status"] => Ok(Command::Status),
            [] => Err("empty request".into()),
            [verb, ..] => Err(format!(
                "cannot parse {verb:?} request (set KEY VALUE, clear KEY, fault DEVICE KIND, \
                 remove DEVICE, insert DEVICE, host on|off|force-off|cycle|reset, sel fill N, \
                 psu DEVICE ok|failed|input-lost|predictive, gpio LINE high|low, status)"
            )),
        }
    }

    /// The line a client sends.
    pub fn to_line(&self) -> String {
        match self {
            Command::Set { key, value } => format!("set {key} {value}"),
            Command::Clear { key } => format!("clear {key}"),
            Command::Fault { device, fault } => {
                format!("fault {device} {}", fault.map_or("none", |f| f.name()))
            }
            Command::Remove { device } => format!("remove {device}"),
            Command::Insert { device } => format!("insert {device}"),
            Command::Host { request } => format!("host {}", request.name()),
            Command::SelFill { count } => format!("sel fill {count}"),
            Command::Psu { device, condition } => format!("psu {device} {}", condition.name()),
            Command::Gpio { line, high } => {
                format!("gpio {line} {}", if *high { "high" } else { "low" })
            }
            Command::GpioFault { line, fault } => {
                format!("gpio {line} fault {}", fault.map_or("none", |f| f.name()))
            }
            Command::Status => "status".into(),
        }
    }
}

/// Collects a request line from the pieces a client's writes arrive in: everything up to the
/// first newline (what follows it is ignored), or up to the end of the stream when the client
/// closes without one. At most [`MAX_REQUEST`] bytes are kept, plus the last piece read.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
}

impl LineReader {
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(64),
        }
    }

    /// Adds the next piece read, empty at the end of the stream. `None` asks for more; otherwise
    /// the line, or why there is none (too long, not UTF-8).
    pub fn push(&mut self, piece: &[u8]) -> Option<Result<String, String>> {
        self.buf.extend_from_slice(piece);
        if let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
            self.buf.truncate(end);
        } else if !piece.is_empty() && self.buf.len() <= MAX_REQUEST {
            return None;
        }
        if self.buf.len() > MAX_REQUEST {
            return Some(Err(format!("request longer than {MAX_REQUEST} bytes")));
        }
        let line = std::mem::take(&mut self.buf);
        Some(String::from_utf8(line).map_err(|_| "request is not UTF-8".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for line in [
            "set inlet_temp 42.5",
            "clear inlet_temp",
            "fault fan_ctl timeout",
            "fault fan_ctl none",
            "fault psu2 checksum",
            "remove psu2",
            "insert psu2",
            "host on",
            "host cycle",
            "host force-off",
            "sel fill 3000",
            "psu psu0_hsc failed",
            "psu psu0_hsc input-lost",
            "gpio CHASSIS_INTRUSION_N low",
            "gpio CHASSIS_INTRUSION_N high",
            "gpio CHASSIS_INTRUSION_N fault bus",
            "gpio CHASSIS_INTRUSION_N fault none",
            "status",
        ] {
            let c = Command::parse(line).unwrap();
            assert_eq!(c.to_line(), line);
        }
    }

    #[test]
    fn parse_errors_are_messages() {
        for (line, needle) in [
            ("", "empty"),
            ("set x", "cannot parse"),
            ("fault a melt", "unknown fault"),
            ("host sideways", "unknown host request"),
            ("reboot now", "cannot parse"),
            ("sel fill 0", "from 1 to 65534"),
            ("sel fill 65535", "from 1 to 65534"),
            ("sel fill lots", "from 1 to 65534"),
            ("psu psu0_hsc melted", "unknown psu condition"),
            ("gpio X sideways", "gpio takes"),
            ("gpio X fault stuck", "unknown gpio fault"),
        ] {
            let e = Command::parse(line).unwrap_err();
            assert!(e.contains(needle), "{line:?}: {e}");
        }
    }

    /// The line up to its newline, in whatever pieces it arrives; the rest is ignored.
    #[test]
    fn a_line_is_read_up_to_its_newline_in_any_pieces() {
        let input = b"fault fan_ctl timeout\nstatus\n";
        for step in 1..=input.len() {
            let mut r = LineReader::new();
            let mut got = None;
            for piece in input.chunks(step) {
                got = r.push(piece);
                if got.is_some() {
                    break;
                }
            }
            assert_eq!(got, Some(Ok("fault fan_ctl timeout".into())), "step {step}");
        }
    }

    /// A client that closes without a newline has sent its whole line; one that sends nothing
    /// sent an empty one, which the parser refuses.
    #[test]
    fn the_end_of_the_stream_ends_the_line() {
        let mut r = LineReader::new();
        assert_eq!(r.push(b"host on"), None);
        assert_eq!(r.push(b""), Some(Ok("host on".into())));
        let mut r = LineReader::new();
        let empty = r.push(b"");
        assert_eq!(empty, Some(Ok(String::new())));
        assert!(Command::parse("").is_err());
    }

    /// The bound holds whether the newline comes in the piece that crosses it, later, or never;
    /// a line of exactly MAX_REQUEST bytes is still read.
    #[test]
    fn a_line_over_the_bound_is_refused_without_buffering_more() {
        let at_bound = vec![b'x'; MAX_REQUEST];
        let mut r = LineReader::new();
        assert_eq!(r.push(&at_bound), None);
        assert_eq!(r.push(b"\n"), Some(Ok("x".repeat(MAX_REQUEST))));

        let mut over = vec![b'x'; MAX_REQUEST + 1];
        over.push(b'\n');
        assert!(matches!(LineReader::new().push(&over), Some(Err(e)) if e.contains("longer")));

        // Without a newline the piece that crosses the bound ends the read.
        let mut r = LineReader::new();
        assert_eq!(r.push(&at_bound), None);
        assert!(matches!(r.push(b"y"), Some(Err(e)) if e.contains("longer")));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_refused() {
        let got = LineReader::new().push(b"set a \xff\n");
        assert_eq!(got, Some(Err("request is not UTF-8".into())));
    }
}
