//! One module per chip driver, and the one list that registers them: [`with_drivers!`] below.
//!
//! A driver is a type generic over its bus handle that implements [`Chip`] (what a board file
//! may say about it: its channels, its shunt) and [`Driver`] (bind it to a bus, read it).
//! Adding a chip is its driver file here, its register model in `hal/sim/src/models/` (a file
//! named like the driver's module), and one entry in [`with_drivers!`]: the [`DeviceModel`]
//! enum, the board-file names, the closed [`AnyDevice`] enum and its dispatch, the simulator's
//! model table and the cargo feature each driver is built under are all derived from that
//! entry. The feature itself must also be declared in `hal/Cargo.toml` (and, for the
//! bare-metal image, `firmware/lm3s6965evb/Cargo.toml`); cargo cannot derive those, so a test
//! of wsbmc-board fails when they and this list disagree.

use core::marker::PhantomData;
use core::num::NonZeroU32;
use core::ops::RangeInclusive;

use embedded_hal_async::i2c::I2c;

use crate::ipmb::{IpmiLink, NoIpmb};
use crate::{DeviceError, Quantity};

pub use at24::At24Size;

/// A named measurement channel of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelInfo {
    pub name: &'static str,
    pub channel: u8,
    pub quantity: Quantity,
}

impl ChannelInfo {
    /// For the drivers' channel tables.
    pub const fn new(name: &'static str, channel: u8, quantity: Quantity) -> Self {
        ChannelInfo {
            name,
            channel,
            quantity,
        }
    }
}

/// What the board loader and the simulator know about a chip without a bus: the facts a board
/// file is checked against. Implemented for every bus type (`impl<I> Chip for Part<I>`), so
/// the registry reads them from `Part<()>`.
pub trait Chip {
    /// The channels a board file may name, with their driver channel number and quantity. A
    /// read of a channel outside this table is refused before any bus traffic.
    const CHANNELS: &'static [ChannelInfo] = &[];
    /// The current shunts (µΩ) a board may declare for the part (`rsense-micro-ohm`), for a
    /// part that turns a sense voltage into amperes and watts; `None` (most parts) refuses the
    /// key, which the driver would ignore.
    const SENSE_MICRO_OHMS: Option<RangeInclusive<u32>> = None;
}

/// A chip driver bound to its bus handle: an I2C bus `I`, or for a controller reached over IPMB
/// the IPMI link `B`. [`AnyDevice`] dispatches to these statically (a `match`, no vtable), so
/// an image pays only for the drivers its features enable.
///
/// The reads return `impl Future` rather than being `async fn`s so that an implementation can
/// hand back its inherent method's future as it is: an `async fn` wrapper would nest one more
/// state machine per driver in every [`AnyDevice`] read, which costs the bare-metal image flash.
/// Every call is on the concrete type through [`AnyDevice`], so whether the futures are `Send`
/// is the concrete future's business, as for any inherent `async fn`.
pub trait Driver<I, B>: Chip + Sized {
    /// The driver for `model` (one this driver registered) at 7-bit `address` on `i2c`, with
    /// the board's shunt for parts that have one (others ignore it; the board loader refuses
    /// the key on them). `None` if the driver cannot serve `model`.
    fn bind(
        model: DeviceModel,
        i2c: I,
        address: u8,
        sense_micro_ohms: Option<NonZeroU32>,
    ) -> Option<Self>;

    /// The model this instance is (a driver may serve several, e.g. EEPROM sizes).
    fn model(&self) -> DeviceModel;

    /// Reads `channel` in the quantity's native scale.
    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>>;

    /// Reads in counts of 10^`scale`. Dispatched only for drivers registered `remote`: the
    /// others' channels have a fixed native scale, and [`Driver::read`] is called instead.
    fn read_scaled(
        &mut self,
        channel: u8,
        scale: i8,
    ) -> impl Future<Output = Result<i32, DeviceError>> {
        let _ = scale;
        self.read(channel)
    }

    /// The states of a discrete sensor on this part. Dispatched only for drivers registered
    /// with `states`.
    fn read_states(&mut self, channel: u8) -> impl Future<Output = Result<u16, DeviceError>> {
        let _ = channel;
        core::future::ready(Err(DeviceError::NoSuchChannel))
    }

    /// A management controller's identity (IPMI Get Device ID) and its 8-bit slave address.
    /// Dispatched only for drivers registered `remote`.
    fn controller_id(
        &mut self,
    ) -> impl Future<Output = Option<(u8, Result<satellite::DeviceId, DeviceError>)>> {
        core::future::ready(None)
    }
}

/// `$yes` if the capability list `[...]` of a [`with_drivers!`] entry has `$want`, else `$no`,
/// decided when the macro expands: a driver without the capability gets no call (and no await
/// point in [`AnyDevice`]'s futures, which on the bare-metal image would cost flash per driver).
macro_rules! if_cap {
    ($want:ident [] $yes:tt else $no:tt) => { $no };
    (states [states $($rest:ident)*] $yes:tt else $no:tt) => { $yes };
    (remote [remote $($rest:ident)*] $yes:tt else $no:tt) => { $yes };
    ($want:ident [$skip:ident $($rest:ident)*] $yes:tt else $no:tt) => {
        if_cap!($want [$($rest)*] $yes else $no)
    };
}

/// What [`with_drivers!`]'s list generates here. An entry is
/// `"cargo-feature" module::Type<BusParam> [capabilities] { Model = "board-file name", ... }`,
/// where `BusParam` is `I` for an I2C part and `B` for a part reached over an IPMI link, and
/// the optional capabilities are `states` (a discrete sensor can read the part's states:
/// [`Driver::read_states`]) and `remote` (the channels are a remote controller's sensor
/// numbers, checked against its own SDRs, read with [`Driver::read_scaled`]; the part has a
/// [`Driver::controller_id`]). Everything per-model that is not the driver's own business is
/// generated from it.
macro_rules! drivers {
    ($(
        $feature:literal $module:ident :: $ty:ident < $bus:ident > $([$($cap:ident)*])? {
            $( $(#[$doc:meta])* $model:ident = $name:literal ),+ $(,)?
        }
    ),+ $(,)?) => {
        $( pub mod $module; pub use $module::$ty; )+

        /// Every part wsbmc has a driver for (the board file's `model`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DeviceModel {
            $( $( $(#[$doc])* $model, )+ )+
        }

        /// The cargo feature of every driver, in registration order: what `hal/Cargo.toml`
        /// and an image's manifest must declare.
        pub const DRIVER_FEATURES: &[&str] = &[$($feature),+];

        impl DeviceModel {
            pub const ALL: &'static [DeviceModel] = &[$($(DeviceModel::$model,)+)+];

            /// The board-file name of the model.
            pub const fn name(self) -> &'static str {
                match self { $($(DeviceModel::$model => $name,)+)+ }
            }

            /// The cargo feature (of this crate, and by convention of each image) that links
            /// the model's driver.
            pub const fn feature(self) -> &'static str {
                match self { $($(DeviceModel::$model)|+ => $feature,)+ }
            }

            /// The channels a board file may name for this model.
            pub const fn channels(self) -> &'static [ChannelInfo] {
                match self { $($(DeviceModel::$model)|+ => <$module::$ty<()> as Chip>::CHANNELS,)+ }
            }

            /// The board's shunts the model accepts ([`Chip::SENSE_MICRO_OHMS`]).
            pub const fn sense_micro_ohms(self) -> Option<RangeInclusive<u32>> {
                match self {
                    $($(DeviceModel::$model)|+ => <$module::$ty<()> as Chip>::SENSE_MICRO_OHMS,)+
                }
            }

            /// True for models whose status a discrete sensor can read
            /// ([`AnyDevice::read_states`]).
            pub const fn has_states(self) -> bool {
                match self {
                    $($(DeviceModel::$model)|+ => if_cap!(states [$($($cap)*)?] true else false),)+
                }
            }

            /// True for models whose channels are the remote controller's sensor numbers
            /// rather than a fixed table.
            pub const fn is_satellite(self) -> bool {
                match self {
                    $($(DeviceModel::$model)|+ => if_cap!(remote [$($($cap)*)?] true else false),)+
                }
            }
        }

        /// The closed set of drivers, each owning its bus handle: an I2C bus `I`, or for
        /// satellites an IPMI link `B` (an IPMB [`crate::ipmb::Requester`], the kernel's IPMI
        /// device on Linux; it defaults to [`NoIpmb`] for boards without IPMB).
        ///
        /// Each driver is a Cargo feature of this crate (all on by default). A driver that is
        /// off has no variant here, so its code is never instantiated and costs the image
        /// nothing; a device of that model is built as [`AnyDevice::Unsupported`] and reads as
        /// absent.
        ///
        /// The satellite variant carries its SDR conversions (a couple of hundred bytes); the
        /// table is built once per board and there is no allocator on the bare-metal image to
        /// box it into.
        #[allow(clippy::large_enum_variant)]
        pub enum AnyDevice<I, B = NoIpmb> {
            $( #[cfg(feature = $feature)] $ty($module::$ty<$bus>), )+
            /// A model whose driver this build leaves out: every read is a NACK, as if the
            /// part were not fitted. The phantom keeps `I` and `B` used whichever drivers are
            /// on.
            Unsupported(DeviceModel, PhantomData<fn() -> (I, B)>),
        }

        impl<I: I2c, B: IpmiLink> AnyDevice<I, B> {
            /// [`AnyDevice::bind`] with the board's sense resistor (µΩ) for parts that have
            /// one (the ADM1272: the part measures a voltage, and only the board knows the
            /// shunt that turns it into amperes and watts). `None` keeps the driver's
            /// default; other models ignore it (the board loader refuses the key on them).
            pub fn bind_with_sense(
                model: DeviceModel,
                i2c: I,
                address: u8,
                sense_micro_ohms: Option<NonZeroU32>,
            ) -> Self {
                // With some drivers off, the arguments go unused for their models.
                let _ = (&i2c, address, sense_micro_ohms);
                match model {
                    $(
                        #[cfg(feature = $feature)]
                        $(DeviceModel::$model)|+ => match <$module::$ty<$bus> as Driver<I, B>>::bind(
                            model, i2c, address, sense_micro_ohms,
                        ) {
                            Some(d) => AnyDevice::$ty(d),
                            None => AnyDevice::Unsupported(model, PhantomData),
                        },
                    )+
                    #[allow(unreachable_patterns)]
                    _ => AnyDevice::Unsupported(model, PhantomData),
                }
            }

            pub fn model(&self) -> DeviceModel {
                match self {
                    $( #[cfg(feature = $feature)] AnyDevice::$ty(d) => Driver::<I, B>::model(d), )+
                    AnyDevice::Unsupported(model, _) => *model,
                }
            }

            /// Reads channel `channel` in the quantity's native scale.
            ///
            /// Channels outside the model's table are refused before any bus traffic, so a
            /// board file typo cannot reach an unrelated register. A satellite's channels are
            /// its sensor numbers, checked against its own SDRs instead.
            pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
                self.check_channel(channel)?;
                match self {
                    $( #[cfg(feature = $feature)] AnyDevice::$ty(d) => Driver::<I, B>::read(d, channel).await, )+
                    AnyDevice::Unsupported(..) => Err(DeviceError::Nack),
                }
            }

            /// Reads a satellite sensor in counts of 10^`scale` (a fan in RPM is scale 0, the
            /// rest 10^-3); other models ignore `scale`, their channels having a fixed native
            /// scale. Channels are checked as by [`AnyDevice::read`].
            pub async fn read_scaled(&mut self, channel: u8, scale: i8) -> Result<i32, DeviceError> {
                self.read_any(channel, scale, false).await
            }

            /// Reads the states of a discrete sensor on this device: for a PMBus power device,
            /// page `channel` (0) of its status as IPMI Power Supply states; for a satellite,
            /// the state bits of its sensor number `channel`. Other models have no states
            /// (refused without bus traffic).
            pub async fn read_states(&mut self, channel: u8) -> Result<u16, DeviceError> {
                // The states are a u16, widened by `read_any`.
                self.read_any(channel, 0, true).await.map(|v| v as u16)
            }

            /// [`AnyDevice::read_scaled`], or [`AnyDevice::read_states`] (widened) when
            /// `states`: one future for a poller's every bus read, the I2C drivers' transfers
            /// in one loop ([`run`]).
            pub async fn read_any(
                &mut self,
                channel: u8,
                scale: i8,
                states: bool,
            ) -> Result<i32, DeviceError> {
                if !states {
                    self.check_channel(channel)?;
                } else if !self.model().has_states() {
                    return Err(DeviceError::NoSuchChannel);
                }
                let _ = scale;
                match self {
                    $(
                        #[cfg(feature = $feature)]
                        AnyDevice::$ty(d) => if_cap!(remote [$($($cap)*)?] {
                            return if states {
                                Driver::<I, B>::read_states(d, channel).await.map(i32::from)
                            } else {
                                Driver::<I, B>::read_scaled(d, channel, scale).await
                            };
                        } else {
                            { let _ = d; }
                        }),
                    )+
                    AnyDevice::Unsupported(..) => {}
                }
                run(self, channel, states).await
            }

            /// A management controller's identity (IPMI Get Device ID) and its 8-bit slave
            /// address; `None` for parts that are not controllers. Read once at start-up for
            /// the software inventory: the firmware revision, manufacturer and product IDs.
            pub async fn controller_id(
                &mut self,
            ) -> Option<(u8, Result<satellite::DeviceId, DeviceError>)> {
                match self {
                    $(
                        #[cfg(feature = $feature)]
                        AnyDevice::$ty(d) => if_cap!(remote [$($($cap)*)?] {
                            Driver::<I, B>::controller_id(d).await
                        } else {
                            { let _ = d; None }
                        }),
                    )+
                    AnyDevice::Unsupported(..) => None,
                }
            }
        }

        impl<I: I2c, B: IpmiLink> Steps<I> for AnyDevice<I, B> {
            fn step(&mut self, channel: u8, states: bool, stage: u8, got: &[u8]) -> Step {
                // With some drivers off, the arguments go unused.
                let _ = (channel, states, stage, got);
                match self {
                    $(
                        #[cfg(feature = $feature)]
                        AnyDevice::$ty(d) => Steps::<I>::step(d, channel, states, stage, got),
                    )+
                    AnyDevice::Unsupported(..) => Step::Done(Err(DeviceError::Nack)),
                }
            }

            fn bus(&mut self) -> Option<(&mut I, u8)> {
                match self {
                    $( #[cfg(feature = $feature)] AnyDevice::$ty(d) => Steps::<I>::bus(d), )+
                    AnyDevice::Unsupported(..) => None,
                }
            }
        }
    };
}

/// The registration point: every chip driver, once. It hands the list to the macro it is given,
/// so each crate that needs a per-driver table generates it from this one list: this module's
/// [`DeviceModel`] and [`AnyDevice`] (`drivers!`), the simulator's register models
/// (`wsbmc-sim`, one file per driver module name). An entry is
/// `"cargo-feature" module::Type<BusParam> [capabilities] { Model = "board-file name", ... }`;
/// see `drivers!` in this file for what each part means.
#[macro_export]
macro_rules! with_drivers {
    ($callback:ident) => {
        $callback! {
            "tmp75" tmp75::Tmp75<I> {
                /// TI TMP75 (also TMP105 and LM75-compatible parts): one local temperature.
                Tmp75 = "tmp75",
            },
            "tmp421" tmp421::Tmp421<I> {
                /// TI TMP421: local + one remote diode.
                Tmp421 = "tmp421",
            },
            "emc1413" emc1413::Emc1413<I> {
                /// Microchip EMC1413: local + two remote diodes.
                Emc1413 = "emc1413",
            },
            "max31785" max31785::Max31785<I> {
                /// Maxim MAX31785 PMBus fan controller: six fan tachometers, remote
                /// temperatures, ADC voltages.
                Max31785 = "max31785",
            },
            "adm1272" adm1272::Adm1272<I> [states] {
                /// ADI ADM1272 PMBus hot-swap controller: input/output voltage, current, power,
                /// temperature.
                Adm1272 = "adm1272",
            },
            "at24" at24::At24<I> {
                /// 24C02 EEPROM (256 bytes): FRU storage, no sensor channels.
                At24c02 = "at24c02",
                /// 24C32 EEPROM (4 KiB).
                At24c32 = "at24c32",
                /// 24C64 EEPROM (8 KiB).
                At24c64 = "at24c64",
                /// 24C256 EEPROM (32 KiB).
                At24c256 = "at24c256",
            },
            "ipmb-satellite" satellite::Satellite<B> [states remote] {
                /// A satellite management controller on IPMB. Its sensors are not a fixed
                /// table: they are whatever its SDRs list, so a board names them by the
                /// satellite's sensor number.
                IpmbSatellite = "ipmb-satellite",
            },
        }
    };
}

with_drivers!(drivers);

impl DeviceModel {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }

    pub fn channel(self, name: &str) -> Option<ChannelInfo> {
        self.channels().iter().copied().find(|c| c.name == name)
    }
}

impl<I: I2c> AnyDevice<I> {
    /// Binds a driver for `model` at 7-bit `address` to `i2c`, with each part's default board
    /// constants (ADM1272: 1 mΩ sense resistor); [`AnyDevice::bind_with_sense`] takes the board's.
    /// A satellite needs an IPMB transport, which `i2c` is not: it is built unbound (its
    /// sensors read as absent); boards with satellites use [`AnyDevice::bind`].
    pub fn new(model: DeviceModel, i2c: I, address: u8) -> Self {
        Self::bind(model, i2c, address)
    }
}

impl<I: I2c, B: IpmiLink> AnyDevice<I, B> {
    /// [`AnyDevice::new`] for a table whose satellites get an IPMI link `B`; a satellite
    /// built here is unbound until replaced by [`AnyDevice::satellite`].
    pub fn bind(model: DeviceModel, i2c: I, address: u8) -> Self {
        Self::bind_with_sense(model, i2c, address, None)
    }

    /// A satellite controller at 7-bit `address` reached through `link` (for an IPMB
    /// transport `T`, `Requester::new(T)`).
    #[cfg(feature = "ipmb-satellite")]
    pub fn satellite(link: B, address: u8) -> Self {
        AnyDevice::Satellite(Satellite::with_link(Some(link), address))
    }

    /// Refuses a channel outside the model's table (satellites: any sensor number).
    fn check_channel(&self, channel: u8) -> Result<(), DeviceError> {
        let model = self.model();
        if !model.is_satellite() && !model.channels().iter().any(|c| c.channel == channel) {
            return Err(DeviceError::NoSuchChannel);
        }
        Ok(())
    }
}

/// GPIO inputs a board names for discrete sensors (chassis intrusion, presence, thermal trip).
/// Levels are read without waiting (a register or a kernel line read), so the trait is
/// synchronous. `line` indexes the board's line table; `true` is the electrical high level.
pub trait GpioInputs {
    fn level(&mut self, line: u16) -> Result<bool, DeviceError>;
}

/// A platform without GPIO inputs: every line reads as absent.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoGpio;

impl GpioInputs for NoGpio {
    fn level(&mut self, _line: u16) -> Result<bool, DeviceError> {
        Err(DeviceError::Nack)
    }
}

/// What a driver's read asks of the bus next, or what it read: a read as data. Every I2C
/// driver's transfers then run in one loop ([`run`]) at its two await points, where an `async`
/// read per driver had an await (a state of the poller's future, with its resume and drop code
/// on the bare-metal image) per transfer, thirteen over five drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Write the register pointer (or PMBus command), then read `len` bytes (at most 2).
    Read(u8, u8),
    /// Write the first `len` of these bytes.
    Write([u8; 3], u8),
    /// The read is over: the reading in its native scale, or the states (a `u16`, widened).
    Done(Result<i32, DeviceError>),
}

/// A driver whose reads are [`Step`]s. `step` is asked again after each transfer, with every
/// byte the read's transfers have returned so far, in order, and how many transfers (`stage`)
/// have run; a driver decides from those alone, holding nothing across an await. `states`
/// asks for a discrete sensor's state bits instead of a reading: only models with
/// [`DeviceModel::has_states`] are asked ([`AnyDevice::read_any`] refuses the others first).
pub(crate) trait Steps<I> {
    fn step(&mut self, channel: u8, states: bool, stage: u8, got: &[u8]) -> Step {
        let _ = (channel, states, stage, got);
        Step::Done(Err(DeviceError::NoSuchChannel))
    }

    /// The bus and 7-bit address the transfers go to; `None` for a part not on an I2C bus.
    fn bus(&mut self) -> Option<(&mut I, u8)> {
        None
    }
}

/// Bytes one read may collect: the ADM1272's first reading takes PMON_CONFIG and the word.
const MAX_GOT: usize = 4;
/// Transfers one read may take (the ADM1272's first: PMON_CONFIG, its write, the word); a
/// driver asking for more is cut off rather than looping.
const MAX_STEPS: u8 = 4;

/// Runs `d`'s read of `channel` (its states when `states`) to its end.
pub(crate) async fn run<I: I2c>(
    d: &mut impl Steps<I>,
    channel: u8,
    states: bool,
) -> Result<i32, DeviceError> {
    let mut got = [0u8; MAX_GOT];
    let mut n = 0;
    for stage in 0..=MAX_STEPS {
        let step = d.step(channel, states, stage, got.get(..n).unwrap_or_default());
        if let Step::Done(r) = step {
            return r;
        }
        let (i2c, address) = d.bus().ok_or(DeviceError::Nack)?;
        let sent = match step {
            Step::Read(reg, len) => {
                let end = n + usize::from(len);
                let buf = got.get_mut(n..end).ok_or(DeviceError::BadData)?;
                n = end;
                i2c.write_read(address, &[reg], buf).await
            }
            Step::Write(bytes, len) => {
                let bytes = bytes.get(..usize::from(len)).unwrap_or_default();
                i2c.write(address, bytes).await
            }
            Step::Done(r) => return r,
        };
        sent.map_err(DeviceError::from_i2c)?;
    }
    Err(DeviceError::BadData)
}

/// Converts a left-justified temperature in 1/256 °C (the layout LM75, TMP421 and EMC1413 share
/// once high and low bytes are joined) to m°C, rounded half away from zero like every other
/// reading. In `i32`: |raw| < 2^17, so raw·1000 < 2^27, and the wide general-purpose division
/// (`pmbus::div_round`, i128) would pull 128-bit arithmetic into images with only these parts.
pub(crate) fn q8_to_millicelsius(raw: i32) -> i32 {
    let n = raw.saturating_mul(1000);
    let half = if n < 0 { -128 } else { 128 };
    n.saturating_add(half) / 256
}

#[cfg(test)]
pub(crate) mod test_util {
    pub use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
    pub use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};
    pub use futures_lite::future::block_on;

    pub const NACK: ErrorKind = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address);
    pub const BUS: ErrorKind = ErrorKind::Bus;
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn q8_conversion_rounds_symmetrically() {
        assert_eq!(q8_to_millicelsius(0x1900), 25_000);
        assert_eq!(q8_to_millicelsius(0x0010), 63); // 62.5
        assert_eq!(q8_to_millicelsius(-0x0010), -63);
        assert_eq!(q8_to_millicelsius(-0x3700), -55_000);
    }

    #[test]
    fn any_device_refuses_unknown_channel_without_bus_traffic() {
        let mock = Mock::new(&[]);
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::Tmp75, mock.clone(), 0x48);
        assert_eq!(block_on(dev.read(1)), Err(DeviceError::NoSuchChannel));
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::At24c02, mock.clone(), 0x50);
        assert_eq!(block_on(dev.read(0)), Err(DeviceError::NoSuchChannel));
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::IpmbSatellite, mock.clone(), 0x30);
        assert_eq!(block_on(dev.read(0x10)), Err(DeviceError::Nack));
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::Max31785, mock.clone(), 0x52);
        assert_eq!(block_on(dev.read(14)), Err(DeviceError::NoSuchChannel));
        let mut mock = mock;
        mock.done();
    }

    // The tests that bind a TMP75 or an ADM1272 run only in builds with those drivers.
    #[cfg(feature = "tmp75")]
    #[test]
    fn any_device_dispatches_to_model() {
        let mut mock = Mock::new(&[T::write_read(0x48, vec![0x00], vec![0x19, 0x00])]);
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::Tmp75, mock.clone(), 0x48);
        assert_eq!(dev.model(), DeviceModel::Tmp75);
        assert_eq!(block_on(dev.read(0)), Ok(25_000));
        mock.done();
        for &m in DeviceModel::ALL {
            let mut idle = Mock::new(&[]);
            let dev: AnyDevice<_> = AnyDevice::new(m, idle.clone(), 0x10);
            assert_eq!(dev.model(), m);
            assert_eq!(DeviceModel::from_name(m.name()), Some(m));
            idle.done();
        }
    }

    #[cfg(all(feature = "adm1272", feature = "tmp75"))]
    #[test]
    fn bind_with_sense_reaches_the_adm1272_only() {
        // PMON_CONFIG with sampling on, 60 V / 15 mV; then IOUT 2048 + 1326: 10 A at 1 mΩ.
        let config = T::write_read(0x10, vec![0xD4], vec![0x1E, 0x3F]);
        let iout = T::write_read(0x10, vec![0x8C], (2048u16 + 1326).to_le_bytes().to_vec());
        let quarter = NonZeroU32::new(250);
        for (sense, want) in [(None, 10_000), (quarter, 40_000)] {
            let mut mock = Mock::new(&[config.clone(), iout.clone()]);
            let mut dev: AnyDevice<_> =
                AnyDevice::bind_with_sense(DeviceModel::Adm1272, mock.clone(), 0x10, sense);
            assert_eq!(block_on(dev.read(2)), Ok(want));
            mock.done();
        }
        let mut mock = Mock::new(&[T::write_read(0x48, vec![0x00], vec![0x19, 0x00])]);
        let mut dev: AnyDevice<_> =
            AnyDevice::bind_with_sense(DeviceModel::Tmp75, mock.clone(), 0x48, quarter);
        assert_eq!(block_on(dev.read(0)), Ok(25_000));
        mock.done();
    }

    #[cfg(all(feature = "adm1272", feature = "tmp75"))]
    #[test]
    fn states_only_where_a_model_has_them() {
        let mut mock = Mock::new(&[T::write_read(0x10, vec![0x79], vec![0x00, 0x00])]);
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::Adm1272, mock.clone(), 0x10);
        assert_eq!(block_on(dev.read_states(0)), Ok(1));
        assert_eq!(
            block_on(dev.read_states(1)),
            Err(DeviceError::NoSuchChannel)
        );
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::Tmp75, mock.clone(), 0x48);
        assert_eq!(
            block_on(dev.read_states(0)),
            Err(DeviceError::NoSuchChannel)
        );
        mock.done();
        assert_eq!(NoGpio.level(3), Err(DeviceError::Nack));
        for &m in DeviceModel::ALL {
            assert_eq!(
                m.has_states(),
                matches!(m, DeviceModel::Adm1272 | DeviceModel::IpmbSatellite)
            );
        }
    }

    #[cfg(feature = "adm1272")]
    #[test]
    fn read_any_runs_readings_and_states_through_one_loop() {
        // PMON_CONFIG with sampling off: enabled once, then the ranges are kept for the next
        // reading; the states read STATUS_INPUT only when STATUS_WORD points at the input.
        let mut mock = Mock::new(&[
            T::write_read(0x10, vec![0xD4], vec![0x00, 0x00]),
            T::write(0x10, vec![0xD4, 0x0E, 0x00]),
            T::write_read(0x10, vec![0x88], vec![0x00, 0x00]),
            T::write_read(0x10, vec![0x88], vec![0x00, 0x00]),
            T::write_read(0x10, vec![0x79], vec![0x08, 0x00]),
            T::write_read(0x10, vec![0x7C], vec![0x00]),
        ]);
        let mut dev: AnyDevice<_> = AnyDevice::new(DeviceModel::Adm1272, mock.clone(), 0x10);
        assert_eq!(block_on(dev.read_any(0, 0, false)), Ok(0));
        assert_eq!(block_on(dev.read_any(0, 0, false)), Ok(0));
        assert!(block_on(dev.read_any(0, 0, true)).is_ok());
        assert_eq!(
            block_on(dev.read_any(5, 0, false)),
            Err(DeviceError::NoSuchChannel)
        );
        mock.done();
    }

    /// A driver that asks for a transfer after every transfer.
    struct Endless(Mock);

    impl Steps<Mock> for Endless {
        fn step(&mut self, _: u8, _: bool, _: u8, _: &[u8]) -> Step {
            Step::Write([0, 0, 0], 1)
        }

        fn bus(&mut self) -> Option<(&mut Mock, u8)> {
            Some((&mut self.0, 0x20))
        }
    }

    #[test]
    fn a_read_is_cut_off_after_its_most_transfers() {
        let writes: Vec<T> = (0..=MAX_STEPS).map(|_| T::write(0x20, vec![0])).collect();
        let mut mock = Mock::new(&writes);
        let mut d = Endless(mock.clone());
        assert_eq!(block_on(run(&mut d, 0, false)), Err(DeviceError::BadData));
        mock.done();
    }

    #[test]
    fn channel_tables_are_unique() {
        for &m in DeviceModel::ALL {
            let chans = m.channels();
            for (i, a) in chans.iter().enumerate() {
                for b in &chans[i + 1..] {
                    assert_ne!(a.channel, b.channel, "{m:?}");
                    assert_ne!(a.name, b.name, "{m:?}");
                }
            }
        }
    }
}
