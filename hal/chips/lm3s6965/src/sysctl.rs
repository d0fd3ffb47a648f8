//! System control: the clock tree and per-peripheral clock gates.

use crate::regs::Block;

// Safety: the System Control block of the LM3S6965 memory map.
const SYSCTL: Block = unsafe { Block::new(0x400F_E000) };

const RIS: usize = 0x050;
const RCC: usize = 0x060;
const RCGC1: usize = 0x104;
const RCGC2: usize = 0x108;

const RIS_PLLLRIS: u32 = 1 << 6;

const RCC_MOSCDIS: u32 = 1 << 0;
const RCC_OSCSRC_MASK: u32 = 0b11 << 4;
const RCC_XTAL_MASK: u32 = 0xF << 6;
/// Crystal field value for the 8 MHz crystal of the evaluation board.
const RCC_XTAL_8MHZ: u32 = 0xE << 6;
const RCC_BYPASS: u32 = 1 << 11;
const RCC_OEN: u32 = 1 << 12;
const RCC_PWRDN: u32 = 1 << 13;
const RCC_USESYSDIV: u32 = 1 << 22;
const RCC_SYSDIV_MASK: u32 = 0xF << 23;

/// The PLL runs at 200 MHz; SYSDIV = 3 divides it by 4.
const SYSDIV_50MHZ: u32 = 3 << 23;

/// PLL lock takes well under a millisecond on silicon and is instant in QEMU; this bound only
/// stops a broken clock tree from hanging the boot.
const PLL_LOCK_SPINS: u32 = 100_000;

/// Frequency of the system clock after [`init_clocks`] succeeded.
pub const SYSCLK_HZ_PLL: u32 = 50_000_000;

/// Peripherals whose clock gate this crate opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peripheral {
    I2c0,
    I2c1,
    GpioA,
    GpioB,
    /// The Ethernet MAC together with its PHY.
    Ethernet,
}

/// Runs the core from the PLL at 50 MHz, following the datasheet's PLL sequence (bypass, power
/// up, divide, wait for lock, switch over). Returns the resulting system clock in Hz, which the
/// SysTick time driver is programmed from.
///
/// Why the PLL at all: QEMU derives SYSCLK as 200 MHz / (SYSDIV + 1) whatever the BYPASS and
/// USESYSDIV bits say, while silicon honours them, so the reset state means 12.5 MHz to QEMU but
/// the raw crystal to the chip. Programming the PLL makes both agree on 50 MHz.
///
/// Returns `None`, leaving the reset clock in place, if the PLL never reports lock.
pub fn init_clocks() -> Option<u32> {
    // 1. Bypass the PLL and stop dividing while it is reconfigured.
    SYSCTL.modify(RCC, |v| (v | RCC_BYPASS) & !RCC_USESYSDIV);
    // 2. Main oscillator on, 8 MHz crystal, PLL powered and its output enabled.
    SYSCTL.modify(RCC, |v| {
        (v & !(RCC_MOSCDIS | RCC_OSCSRC_MASK | RCC_XTAL_MASK | RCC_PWRDN | RCC_OEN)) | RCC_XTAL_8MHZ
    });
    // 3. Divide by 4.
    SYSCTL.modify(RCC, |v| {
        (v & !RCC_SYSDIV_MASK) | SYSDIV_50MHZ | RCC_USESYSDIV
    });
    // 4. Wait for lock, then 5. leave bypass.
    for _ in 0..PLL_LOCK_SPINS {
        if SYSCTL.read(RIS) & RIS_PLLLRIS != 0 {
            SYSCTL.modify(RCC, |v| v & !RCC_BYPASS);
            return Some(SYSCLK_HZ_PLL);
        }
    }
    None
}

/// Opens the clock gate of a peripheral; its registers fault (on silicon) until this is done.
pub fn enable(p: Peripheral) {
    let (reg, bit) = match p {
        Peripheral::I2c0 => (RCGC1, 1 << 12),
        Peripheral::I2c1 => (RCGC1, 1 << 14),
        Peripheral::GpioA => (RCGC2, 1 << 0),
        Peripheral::GpioB => (RCGC2, 1 << 1),
        Peripheral::Ethernet => (RCGC2, (1 << 28) | (1 << 30)),
    };
    SYSCTL.modify(reg, |v| v | bit);
    // The datasheet asks for a few clocks between opening a gate and touching the peripheral;
    // reading the gate register back provides them.
    let _ = SYSCTL.read(reg);
}

const GPIO_AFSEL: usize = 0x420;
const GPIO_ODR: usize = 0x50C;
const GPIO_DEN: usize = 0x51C;

/// Hands two pins of a GPIO port to their I2C function: SCL and SDA as digital alternate
/// functions, SDA open-drain. QEMU ignores pin muxing; silicon does not.
pub(crate) fn i2c_pins(port: Peripheral, scl: u8, sda: u8) {
    let base = match port {
        Peripheral::GpioA => 0x4000_4000,
        Peripheral::GpioB => 0x4000_5000,
        _ => return,
    };
    enable(port);
    // Safety: GPIO ports A and B of the LM3S6965 memory map (APB aperture).
    let gpio = unsafe { Block::new(base) };
    let both = (1u32 << scl) | (1u32 << sda);
    gpio.modify(GPIO_AFSEL, |v| v | both);
    gpio.modify(GPIO_ODR, |v| v | (1 << sda));
    gpio.modify(GPIO_DEN, |v| v | both);
}
