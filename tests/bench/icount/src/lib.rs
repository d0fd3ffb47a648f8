//! Counts the instructions the guest executes, for `scripts/bench-icount`.
//!
//! QEMU's plugin interface is a C ABI: QEMU `dlopen`s this library, checks the exported
//! `qemu_plugin_version`, and calls `qemu_plugin_install`. The API functions are resolved
//! from the QEMU executable itself when the library is loaded, so they are declared here and
//! left undefined at link time. Only four of them are used, all present since API version 2
//! (QEMU 9.0), whose signatures are in QEMU's documented plugin API (docs/devel/tcg-plugins).
//!
//! Every translation block gets an execution callback carrying its instruction count; the
//! callback adds it to one counter. The count is exact for blocks that run to their end; a
//! block left early by an exception is counted whole, which is the same on every run, so
//! the figure stays deterministic. Wall time does not enter: a guest that waits in WFI
//! executes nothing.
//!
//! The counter is read over a Unix socket (`sock=PATH`): a connection sends one command line
//! and gets its answer. `count` answers the instructions executed so far as one decimal line;
//! `profile` answers one `ADDRESS COUNT` line (hex, decimal) per translated block with the
//! instructions executed in it so far, so that two profiles taken around a request, with the
//! image's symbol table, tell which functions the request spent its instructions in.

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

type PluginId = u64;
type TbTransCb = extern "C" fn(PluginId, *mut c_void);
type VcpuUdataCb = extern "C" fn(c_uint, *mut c_void);

/// `QEMU_PLUGIN_CB_NO_REGS`: the callback reads no guest register.
const CB_NO_REGS: c_int = 0;

unsafe extern "C" {
    fn qemu_plugin_register_vcpu_tb_trans_cb(id: PluginId, cb: TbTransCb);
    fn qemu_plugin_tb_n_insns(tb: *const c_void) -> usize;
    fn qemu_plugin_tb_vaddr(tb: *const c_void) -> u64;
    fn qemu_plugin_register_vcpu_tb_exec_cb(
        tb: *mut c_void,
        cb: VcpuUdataCb,
        flags: c_int,
        userdata: *mut c_void,
    );
    fn qemu_plugin_outs(string: *const c_char);
}

/// The API level this plugin is written against; QEMU refuses a plugin newer than itself.
#[unsafe(no_mangle)]
pub static qemu_plugin_version: c_int = 2;

static EXECUTED: AtomicU64 = AtomicU64::new(0);

/// One translated block: where it starts, its length, and the instructions run in it.
struct Block {
    vaddr: u64,
    insns: u64,
    executed: AtomicU64,
}

/// Every block translated so far. A block translated again (after QEMU flushes its cache) gets
/// a second entry, summed by address when profiled; the entries are never freed, since QEMU
/// may still run translated code that points at them. The image is 256 KiB of code, so
/// this stays small.
static BLOCKS: Mutex<Vec<&'static Block>> = Mutex::new(Vec::new());

extern "C" fn tb_exec(_vcpu: c_uint, block: *mut c_void) {
    // SAFETY: the user data is a leaked `Block`, valid for the life of the process.
    let block = unsafe { &*(block as *const Block) };
    block.executed.fetch_add(block.insns, Ordering::Relaxed);
    EXECUTED.fetch_add(block.insns, Ordering::Relaxed);
}

extern "C" fn tb_trans(_id: PluginId, tb: *mut c_void) {
    // SAFETY: `tb` is the block QEMU is translating, valid for this callback.
    let (insns, vaddr) = unsafe { (qemu_plugin_tb_n_insns(tb), qemu_plugin_tb_vaddr(tb)) };
    let block: &'static Block = Box::leak(Box::new(Block {
        vaddr,
        insns: insns as u64,
        executed: AtomicU64::new(0),
    }));
    if let Ok(mut blocks) = BLOCKS.lock() {
        blocks.push(block);
    }
    let data = block as *const Block as *mut c_void;
    // SAFETY: as above; `data` outlives every execution of the block.
    unsafe { qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, CB_NO_REGS, data) };
}

fn say(text: &str) {
    let mut line = text.as_bytes().to_vec();
    line.extend_from_slice(b"\n\0");
    // SAFETY: `line` is NUL-terminated and lives across the call.
    unsafe { qemu_plugin_outs(line.as_ptr().cast()) };
}

fn answer(stream: UnixStream) -> std::io::Result<()> {
    let mut command = String::new();
    // One line of at most 64 bytes: a command, never an unbounded buffer.
    BufReader::new(Read::take(&stream, 64)).read_line(&mut command)?;
    let mut out = std::io::BufWriter::new(&stream);
    match command.trim() {
        "count" => writeln!(out, "{}", EXECUTED.load(Ordering::Relaxed))?,
        "profile" => {
            let mut by_addr = std::collections::BTreeMap::<u64, u64>::new();
            if let Ok(blocks) = BLOCKS.lock() {
                for b in blocks.iter() {
                    *by_addr.entry(b.vaddr).or_default() += b.executed.load(Ordering::Relaxed);
                }
            }
            for (vaddr, executed) in by_addr.into_iter().filter(|&(_, n)| n > 0) {
                writeln!(out, "{vaddr:x} {executed}")?;
            }
        }
        other => writeln!(out, "error: unknown command {other:?} (count, profile)")?,
    }
    out.flush()
}

fn serve(listener: UnixListener) {
    for stream in listener.incoming().flatten() {
        let _ = answer(stream);
    }
}

/// # Safety
/// Called by QEMU once, with `argc` NUL-terminated `key=value` strings in `argv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qemu_plugin_install(
    id: PluginId,
    _info: *const c_void,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    let mut sock = None;
    for i in 0..usize::try_from(argc).unwrap_or(0) {
        // SAFETY: QEMU passes `argc` valid C strings.
        let arg = unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy();
        match arg.split_once('=') {
            Some(("sock", path)) => sock = Some(path.to_owned()),
            _ => {
                say(&format!("wsbmc-icount: unknown argument {arg}"));
                return -1;
            }
        }
    }
    let Some(path) = sock else {
        say("wsbmc-icount: needs sock=PATH");
        return -1;
    };
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            say(&format!("wsbmc-icount: cannot listen on {path}: {e}"));
            return -1;
        }
    };
    std::thread::spawn(move || serve(listener));
    // SAFETY: `id` is this plugin's, and the callback is a plain function.
    unsafe { qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans) };
    0
}
