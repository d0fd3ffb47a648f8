//! The simulation control socket's request line (firmware/linux/src/control_line.rs, compiled
//! here as it is): the bounded line reader, fed the input in pieces of a size the first byte
//! picks as a client's writes would arrive, then the command parser. A line that is read is
//! bounded and has no newline; an error is one line (the reply's first line carries it); a
//! command prints (`wsbmc sim` sends what `to_line` prints) as a line no longer than the one it
//! came from that parses back to the same command.
#![no_main]

#[allow(dead_code)]
#[path = "../../../firmware/linux/src/control_line.rs"]
mod control_line;

use control_line::{Command, LineReader, MAX_REQUEST};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(first % 64) + 1;
    let mut reader = LineReader::new();
    let mut pieces = rest.chunks(step);
    // Ends: once the pieces run out, the empty piece (the end of the stream) ends the line.
    let line = loop {
        if let Some(line) = reader.push(pieces.next().unwrap_or(&[])) {
            break line;
        }
    };
    let line = match line {
        Ok(line) => line,
        Err(e) => {
            assert!(!e.contains('\n'), "{e:?}");
            return;
        }
    };
    assert!(line.len() <= MAX_REQUEST, "{} bytes read", line.len());
    assert!(!line.contains('\n'), "{line:?}");
    match Command::parse(&line) {
        Ok(command) => {
            let printed = command.to_line();
            assert!(
                printed.len() <= line.len(),
                "{line:?} printed as {printed:?}"
            );
            assert_eq!(
                Command::parse(&printed).as_ref(),
                Ok(&command),
                "{line:?} printed as {printed:?}"
            );
        }
        Err(e) => assert!(!e.is_empty() && !e.contains('\n'), "{line:?}: {e:?}"),
    }
});
