//! Register-level models of each part, speaking the same register maps and encodings as the
//! silicon so the real drivers run their real code paths against them: one file per part,
//! named like the part's driver module in `hal/src/devices`, and a table of them generated from
//! the hal's driver registry (`wsbmc_hal::with_drivers!`), so a driver without a model here
//! does not build.
//!
//! A model sees a transaction as the part does: a write whose first byte is the pointer or
//! PMBus command (further bytes are register data), and reads that return bytes from the
//! current pointer. Physical values come from [`Inputs`]; encoding is done here with floats
//! (the simulator may use them) so it is computed independently of the drivers' integer
//! decoding.

use embedded_hal::i2c::NoAcknowledgeSource;
use wsbmc_hal::pmbus::Coefficients;
use wsbmc_hal::{DeviceModel, Quantity};

use crate::satellite::SatelliteRegs;
use crate::{SimI2cError, Waveform};

pub use adm1272::ADM1272_PMON_CONFIG_DEFAULT;

/// What a model may ask of the outside world while handling one transaction.
pub(crate) trait Inputs {
    /// The channel's physical value in native units at the transaction's time.
    fn value(&self, channel: u8) -> i32;
    /// Whether the part's own fault indication (open diode, sensor fault) is raised.
    fn channel_fault(&self, channel: u8) -> bool;
    /// Board constant for current/power parts.
    fn sense_micro_ohms(&self) -> u32;
}

pub(super) const NACK_DATA: SimI2cError = SimI2cError::Nack(NoAcknowledgeSource::Data);

/// One part's registers. Only `new`, `write` and `read` are every part's business; the rest
/// are what fault injection and the board set on the parts that have them.
pub(crate) trait SimModel: Sized {
    /// The part at power-up; `model` tells a driver's sizes apart (EEPROMs), `address` is the
    /// 7-bit bus address (satellites answer IPMB with it).
    fn new(model: DeviceModel, address: u8) -> Self;
    /// A write transaction of at least one byte: `first` is the pointer or command, `rest`
    /// the register data.
    fn write(&mut self, first: u8, rest: &[u8]) -> Result<(), SimI2cError>;
    /// A read transaction from the current pointer or command.
    fn read(&mut self, buf: &mut [u8], inputs: &dyn Inputs) -> Result<(), SimI2cError>;
    /// Whether the part flags a fault on `channel` itself (what
    /// [`crate::SimBoard::set_channel_fault`] raises).
    fn has_fault_flag(channel: u8) -> bool {
        let _ = channel;
        false
    }
    /// The part's own idea of an unconfigured channel, where the quantity's default will not do.
    fn default_waveform(channel: u8) -> Option<Waveform> {
        let _ = channel;
        None
    }
    /// Replaces an EEPROM's contents from offset 0; false for other parts or too many bytes.
    fn load_eeprom(&mut self, bytes: &[u8]) -> bool {
        let _ = bytes;
        false
    }
    /// Sets a power part's PMBus STATUS_WORD and STATUS_INPUT; false for parts without them.
    fn set_pmbus_status(&mut self, word: u16, input: u8) -> bool {
        let _ = (word, input);
        false
    }
    fn satellite(&mut self) -> Option<&mut SatelliteRegs> {
        None
    }
}

/// The model table, from the hal's driver registry: `Regs` has one variant per driver, holding
/// the model of the file named like the driver's module.
macro_rules! sim_models {
    ($(
        $feature:literal $module:ident :: $ty:ident < $bus:ident > $([$($cap:ident)*])? {
            $( $(#[$doc:meta])* $model:ident = $name:literal ),+ $(,)?
        }
    ),+ $(,)?) => {
        $( mod $module; )+

        pub(crate) enum Regs {
            $( $ty($module::Model), )+
            /// Stands in while the real registers are borrowed out during a read.
            Empty,
        }

        impl Regs {
            pub(crate) fn new(model: DeviceModel, address: u8) -> Self {
                match model {
                    $( $(DeviceModel::$model)|+ => Regs::$ty(SimModel::new(model, address)), )+
                }
            }

            pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), SimI2cError> {
                let Some((&first, rest)) = data.split_first() else {
                    return Ok(()); // SMBus quick command: the address ACK is all there is.
                };
                match self {
                    $( Regs::$ty(m) => m.write(first, rest), )+
                    Regs::Empty => Ok(()),
                }
            }

            pub(crate) fn read(
                &mut self,
                buf: &mut [u8],
                inputs: &dyn Inputs,
            ) -> Result<(), SimI2cError> {
                match self {
                    $( Regs::$ty(m) => m.read(buf, inputs), )+
                    Regs::Empty => {
                        buf.fill(0xFF);
                        Ok(())
                    }
                }
            }

            /// Replaces an EEPROM's contents from offset 0 (the rest keeps its bytes).
            pub(crate) fn load_eeprom(&mut self, bytes: &[u8]) -> bool {
                match self {
                    $( Regs::$ty(m) => m.load_eeprom(bytes), )+
                    Regs::Empty => false,
                }
            }

            pub(crate) fn satellite(&mut self) -> Option<&mut SatelliteRegs> {
                match self {
                    $( Regs::$ty(m) => m.satellite(), )+
                    Regs::Empty => None,
                }
            }

            /// Sets a PMBus part's STATUS_WORD and STATUS_INPUT (a satellite PSU controller:
            /// its status sensor's states); false for parts without them.
            pub(crate) fn set_pmbus_status(&mut self, word: u16, input: u8) -> bool {
                match self {
                    $( Regs::$ty(m) => m.set_pmbus_status(word, input), )+
                    Regs::Empty => false,
                }
            }
        }

        /// Whether the part flags a fault on `channel` itself (what
        /// [`crate::SimBoard::set_channel_fault`] raises).
        pub(crate) fn has_fault_flag(model: DeviceModel, channel: u8) -> bool {
            match model {
                $( $(DeviceModel::$model)|+ => <$module::Model as SimModel>::has_fault_flag(channel), )+
            }
        }

        /// The part's own default for `channel`, if it has one.
        fn model_waveform(model: DeviceModel, channel: u8) -> Option<Waveform> {
            match model {
                $( $(DeviceModel::$model)|+ => <$module::Model as SimModel>::default_waveform(channel), )+
            }
        }
    };
}

wsbmc_hal::with_drivers!(sim_models);

pub(super) fn fill_le(buf: &mut [u8], word: u16) {
    for (b, v) in buf
        .iter_mut()
        .zip(word.to_le_bytes().iter().chain(std::iter::repeat(&0xFF)))
    {
        *b = *v;
    }
}

/// `(coefficients-per-mΩ, shunt in mΩ)` → coefficients with `m` scaled, as floats allow.
pub(super) struct ScaledM {
    m: f64,
    b: f64,
    r: i32,
}

pub(super) fn scale_m(c: Coefficients, sense_milliohms: f64) -> ScaledM {
    ScaledM {
        m: c.m as f64 * sense_milliohms,
        b: c.b as f64,
        r: i32::from(c.r),
    }
}

impl From<Coefficients> for ScaledM {
    fn from(c: Coefficients) -> Self {
        scale_m(c, 1.0)
    }
}

/// PMBus DIRECT encoding of a native-unit (10^-3 or RPM) value: `Y = (m·X + b)·10^R`.
pub(super) fn encode(native: i32, c: impl Into<ScaledM>, lo: i32, hi: i32) -> i32 {
    let c = c.into();
    // Every DIRECT quantity in these parts is milli-scaled except fan RPM, whose
    // coefficients are m=1 b=0 R=0 and whose callers pass RPM directly.
    let x = f64::from(native) / 1000.0;
    let y = (c.m * x + c.b) * 10f64.powi(c.r);
    (y.round() as i64).clamp(i64::from(lo), i64::from(hi)) as i32
}

/// What a channel reads when the board file gave it no waveform: plausible, gently moving
/// values so an unconfigured board still looks alive.
pub(crate) fn default_waveform(model: DeviceModel, channel: u8) -> Waveform {
    use Waveform as W;
    if let Some(w) = model_waveform(model, channel) {
        return w;
    }
    let quantity = model
        .channels()
        .iter()
        .find(|c| c.channel == channel)
        .map_or(Quantity::Temperature, |c| c.quantity);
    match quantity {
        Quantity::Temperature => W::new(35_000, 3_000, 600_000, 250),
        Quantity::FanSpeed => W::new(8_000, 400, 300_000, 30),
        Quantity::Voltage => W::new(12_000, 40, 90_000, 10),
        Quantity::Current => W::new(8_000, 2_000, 120_000, 100),
        Quantity::Power => W::new(96_000, 24_000, 120_000, 1_000),
    }
}
