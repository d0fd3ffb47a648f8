//! One module per part; the module name is the `model` string board files use.

use core::marker::PhantomData;
use core::num::NonZeroU32;

use embedded_hal_async::i2c::I2c;

use crate::ipmb::{IpmiLink, NoIpmb};
use crate::{DeviceError, Quantity};

pub mod adm1272;
pub mod at24;
pub mod emc1413;
pub mod max31785;
pub mod satellite;
pub mod tmp421;
pub mod tmp75;

pub use adm1272::Adm1272;
pub use at24::{At24, At24Size};
pub use emc1413::Emc1413;
pub use max31785::Max31785;
pub use satellite::Satellite;
pub use tmp75::Tmp75;
pub use tmp421::Tmp421;

/// Every part wsbmc has a driver for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceModel {
    /// TI TMP75 (also TMP105 and LM75-compatible parts): one local temperature.
    Tmp75,
    /// TI TMP421: local + one remote diode.
    Tmp421,
    /// Microchip EMC1413: local + two remote diodes.
    Emc1413,
    /// Maxim MAX31785 PMBus fan controller: six fan tachometers, remote temperatures, ADC voltages.
    Max31785,
    /// ADI ADM1272 PMBus hot-swap controller: input/output voltage, current, power, temperature.
    Adm1272,
    /// 24C02 EEPROM (256 bytes): FRU storage, no sensor channels.
    At24c02,
    /// 24C32 EEPROM (4 KiB).
    At24c32,
    /// 24C64 EEPROM (8 KiB).
    At24c64,
    /// 24C256 EEPROM (32 KiB).
    At24c256,
    /// A satellite management controller on IPMB. Its sensors are not a fixed table: they are
    /// whatever its SDRs list, so a board names them by the satellite's sensor number.
    IpmbSatellite,
}

/// A named measurement channel of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelInfo {
    pub name: &'static str,
    pub channel: u8,
    pub quantity: Quantity,
}

impl DeviceModel {
    /// The board-file name of the model.
    pub const fn name(self) -> &'static str {
        match self {
            DeviceModel::Tmp75 => "tmp75",
            DeviceModel::Tmp421 => "tmp421",
            DeviceModel::Emc1413 => "emc1413",
            DeviceModel::Max31785 => "max31785",
            DeviceModel::Adm1272 => "adm1272",
            DeviceModel::At24c02 => "at24c02",
            DeviceModel::At24c32 => "at24c32",
            DeviceModel::At24c64 => "at24c64",
            DeviceModel::At24c256 => "at24c256",
            DeviceModel::IpmbSatellite => "ipmb-satellite",
        }
    }

    /// The EEPROM geometry of the at24 models.
    pub const fn eeprom(self) -> Option<At24Size> {
        match self {
            DeviceModel::At24c02 => Some(At24Size::C02),
            DeviceModel::At24c32 => Some(At24Size::C32),
            DeviceModel::At24c64 => Some(At24Size::C64),
            DeviceModel::At24c256 => Some(At24Size::C256),
            _ => None,
        }
    }

    /// True for models whose channels are the remote controller's sensor numbers rather than a
    /// fixed table.
    pub const fn is_satellite(self) -> bool {
        matches!(self, DeviceModel::IpmbSatellite)
    }

    /// True for models whose status a discrete sensor can read ([`AnyDevice::read_states`]):
    /// PMBus power devices (STATUS_WORD as Power Supply states) and satellites (state bits).
    pub const fn has_states(self) -> bool {
        matches!(self, DeviceModel::Adm1272 | DeviceModel::IpmbSatellite)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }

    pub const ALL: &'static [DeviceModel] = &[
        DeviceModel::Tmp75,
        DeviceModel::Tmp421,
        DeviceModel::Emc1413,
        DeviceModel::Max31785,
        DeviceModel::Adm1272,
        DeviceModel::At24c02,
        DeviceModel::At24c32,
        DeviceModel::At24c64,
        DeviceModel::At24c256,
        DeviceModel::IpmbSatellite,
    ];

    /// The channels a board file may name for this model.
    pub const fn channels(self) -> &'static [ChannelInfo] {
        match self {
            DeviceModel::Tmp75 => TMP75_CHANNELS,
            DeviceModel::Tmp421 => TMP421_CHANNELS,
            DeviceModel::Emc1413 => EMC1413_CHANNELS,
            DeviceModel::Max31785 => MAX31785_CHANNELS,
            DeviceModel::Adm1272 => ADM1272_CHANNELS,
            DeviceModel::At24c02
            | DeviceModel::At24c32
            | DeviceModel::At24c64
            | DeviceModel::At24c256
            | DeviceModel::IpmbSatellite => &[],
        }
    }

    pub fn channel(self, name: &str) -> Option<ChannelInfo> {
        self.channels().iter().copied().find(|c| c.name == name)
    }
}

const fn ch(name: &'static str, channel: u8, quantity: Quantity) -> ChannelInfo {
    ChannelInfo {
        name,
        channel,
        quantity,
    }
}

use Quantity::{Current, FanSpeed, Power, Temperature, Voltage};

const TMP75_CHANNELS: &[ChannelInfo] = &[ch("temp", 0, Temperature)];
const TMP421_CHANNELS: &[ChannelInfo] =
    &[ch("local", 0, Temperature), ch("remote1", 1, Temperature)];
const EMC1413_CHANNELS: &[ChannelInfo] = &[
    ch("local", 0, Temperature),
    ch("remote1", 1, Temperature),
    ch("remote2", 2, Temperature),
];
/// Channel numbers are the part's PMBus pages, so the driver needs no translation table.
/// Pages 13–16 (temperatures the part itself polls from external I2C sensors) are left out:
/// a BMC reads those sensors directly.
const MAX31785_CHANNELS: &[ChannelInfo] = &[
    ch("fan1", 0, FanSpeed),
    ch("fan2", 1, FanSpeed),
    ch("fan3", 2, FanSpeed),
    ch("fan4", 3, FanSpeed),
    ch("fan5", 4, FanSpeed),
    ch("fan6", 5, FanSpeed),
    ch("temp1", 6, Temperature),
    ch("temp2", 7, Temperature),
    ch("vsense1", 17, Voltage),
    ch("vsense2", 18, Voltage),
    ch("temp3", 8, Temperature),
    ch("temp4", 9, Temperature),
    ch("temp5", 10, Temperature),
    ch("temp6", 11, Temperature),
    ch("internal", 12, Temperature),
    ch("vsense3", 19, Voltage),
    ch("vsense4", 20, Voltage),
    ch("vsense5", 21, Voltage),
    ch("vsense6", 22, Voltage),
];
const ADM1272_CHANNELS: &[ChannelInfo] = &[
    ch("vin", 0, Voltage),
    ch("vout", 1, Voltage),
    ch("iout", 2, Current),
    ch("pin", 3, Power),
    ch("temp", 4, Temperature),
];

/// The closed set of drivers, each owning its bus handle: an I2C bus `I`, or for satellites an
/// IPMI link `B` (an IPMB [`crate::ipmb::Requester`], the kernel's IPMI device on Linux; it
/// defaults to [`NoIpmb`] for boards without IPMB).
///
/// Each driver family is a Cargo feature of this crate (all on by default). A family that is off
/// has no variant here, so its code is never instantiated and costs the image nothing; a device
/// of that model is built as [`AnyDevice::Unsupported`] and reads as absent.
///
/// The satellite variant carries its SDR conversions (a couple of hundred bytes); the table is
/// built once per board and there is no allocator on the bare-metal image to box it into.
#[allow(clippy::large_enum_variant)]
pub enum AnyDevice<I, B = NoIpmb> {
    #[cfg(feature = "tmp75")]
    Tmp75(Tmp75<I>),
    #[cfg(feature = "tmp421")]
    Tmp421(Tmp421<I>),
    #[cfg(feature = "emc1413")]
    Emc1413(Emc1413<I>),
    #[cfg(feature = "max31785")]
    Max31785(Max31785<I>),
    #[cfg(feature = "adm1272")]
    Adm1272(Adm1272<I>),
    #[cfg(feature = "at24")]
    At24(At24<I>),
    #[cfg(feature = "ipmb-satellite")]
    Satellite(Satellite<B>),
    /// A model whose driver family this build leaves out: every read is a NACK, as if the part
    /// were not fitted. The phantom keeps `I` and `B` used whichever families are on.
    Unsupported(DeviceModel, PhantomData<fn() -> (I, B)>),
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
        // With some families off, `i2c` and `address` go unused for their models.
        let _ = (&i2c, address);
        match model {
            #[cfg(feature = "tmp75")]
            DeviceModel::Tmp75 => AnyDevice::Tmp75(Tmp75::new(i2c, address)),
            #[cfg(feature = "tmp421")]
            DeviceModel::Tmp421 => AnyDevice::Tmp421(Tmp421::new(i2c, address)),
            #[cfg(feature = "emc1413")]
            DeviceModel::Emc1413 => AnyDevice::Emc1413(Emc1413::new(i2c, address)),
            #[cfg(feature = "max31785")]
            DeviceModel::Max31785 => AnyDevice::Max31785(Max31785::new(i2c, address)),
            #[cfg(feature = "adm1272")]
            DeviceModel::Adm1272 => AnyDevice::Adm1272(Adm1272::new(i2c, address)),
            #[cfg(feature = "at24")]
            DeviceModel::At24c02
            | DeviceModel::At24c32
            | DeviceModel::At24c64
            | DeviceModel::At24c256 => match model.eeprom() {
                Some(size) => AnyDevice::At24(At24::new(i2c, address, size)),
                None => AnyDevice::Unsupported(model, PhantomData),
            },
            #[cfg(feature = "ipmb-satellite")]
            DeviceModel::IpmbSatellite => AnyDevice::Satellite(Satellite::unbound(address)),
            #[allow(unreachable_patterns)]
            _ => AnyDevice::Unsupported(model, PhantomData),
        }
    }

    /// [`AnyDevice::bind`] with the board's sense resistor (µΩ) for an ADM1272: the part measures
    /// a voltage, and only the board knows the shunt that turns it into amperes and watts.
    /// `None` keeps the driver's 1 mΩ default; other models have no shunt and ignore it (the
    /// board loader refuses the key on them).
    pub fn bind_with_sense(
        model: DeviceModel,
        i2c: I,
        address: u8,
        sense_micro_ohms: Option<NonZeroU32>,
    ) -> Self {
        match (model, sense_micro_ohms) {
            #[cfg(feature = "adm1272")]
            (DeviceModel::Adm1272, Some(sense)) => {
                AnyDevice::Adm1272(Adm1272::with_sense_micro_ohms(i2c, address, sense))
            }
            _ => Self::bind(model, i2c, address),
        }
    }

    /// A satellite controller at 7-bit `address` reached through `link` (for an IPMB
    /// transport `T`, `Requester::new(T)`).
    #[cfg(feature = "ipmb-satellite")]
    pub fn satellite(link: B, address: u8) -> Self {
        AnyDevice::Satellite(Satellite::with_link(Some(link), address))
    }

    pub fn model(&self) -> DeviceModel {
        match self {
            #[cfg(feature = "tmp75")]
            AnyDevice::Tmp75(_) => DeviceModel::Tmp75,
            #[cfg(feature = "tmp421")]
            AnyDevice::Tmp421(_) => DeviceModel::Tmp421,
            #[cfg(feature = "emc1413")]
            AnyDevice::Emc1413(_) => DeviceModel::Emc1413,
            #[cfg(feature = "max31785")]
            AnyDevice::Max31785(_) => DeviceModel::Max31785,
            #[cfg(feature = "adm1272")]
            AnyDevice::Adm1272(_) => DeviceModel::Adm1272,
            #[cfg(feature = "at24")]
            AnyDevice::At24(e) => match e.size() {
                At24Size::C02 => DeviceModel::At24c02,
                At24Size::C32 => DeviceModel::At24c32,
                At24Size::C64 => DeviceModel::At24c64,
                At24Size::C256 => DeviceModel::At24c256,
            },
            #[cfg(feature = "ipmb-satellite")]
            AnyDevice::Satellite(_) => DeviceModel::IpmbSatellite,
            AnyDevice::Unsupported(model, _) => *model,
        }
    }

    /// Reads channel `channel` in the quantity's native scale.
    ///
    /// Channels outside the model's table are refused before any bus traffic, so a board file
    /// typo cannot reach an unrelated register. A satellite's channels are its sensor numbers,
    /// checked against its own SDRs instead.
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        let model = self.model();
        if !model.is_satellite() && !model.channels().iter().any(|c| c.channel == channel) {
            return Err(DeviceError::NoSuchChannel);
        }
        match self {
            #[cfg(feature = "tmp75")]
            AnyDevice::Tmp75(d) => d.read(channel).await,
            #[cfg(feature = "tmp421")]
            AnyDevice::Tmp421(d) => d.read(channel).await,
            #[cfg(feature = "emc1413")]
            AnyDevice::Emc1413(d) => d.read(channel).await,
            #[cfg(feature = "max31785")]
            AnyDevice::Max31785(d) => d.read(channel).await,
            #[cfg(feature = "adm1272")]
            AnyDevice::Adm1272(d) => d.read(channel).await,
            #[cfg(feature = "at24")]
            AnyDevice::At24(d) => d.read(channel).await,
            #[cfg(feature = "ipmb-satellite")]
            AnyDevice::Satellite(d) => d.read(channel).await,
            AnyDevice::Unsupported(..) => Err(DeviceError::Nack),
        }
    }

    /// A management controller's identity (IPMI Get Device ID) and its 8-bit slave address;
    /// `None` for parts that are not controllers. Read once at start-up for the software
    /// inventory: the firmware revision, manufacturer and product IDs.
    pub async fn controller_id(
        &mut self,
    ) -> Option<(u8, Result<satellite::DeviceId, DeviceError>)> {
        match self {
            #[cfg(feature = "ipmb-satellite")]
            AnyDevice::Satellite(d) => Some((d.slave_address(), d.device_id().await)),
            _ => None,
        }
    }

    /// Reads a satellite sensor in counts of 10^`scale` (a fan in RPM is scale 0, the rest
    /// 10^-3); other models ignore `scale`, their channels having a fixed native scale.
    pub async fn read_scaled(&mut self, channel: u8, scale: i8) -> Result<i32, DeviceError> {
        match self {
            #[cfg(feature = "ipmb-satellite")]
            AnyDevice::Satellite(d) => d.read_scaled(channel, scale).await,
            _ => {
                let _ = scale;
                self.read(channel).await
            }
        }
    }
}

impl<I: I2c, B: IpmiLink> AnyDevice<I, B> {
    /// Reads the states of a discrete sensor on this device: for a PMBus power device, page
    /// `channel` (0) of its status as IPMI Power Supply states; for a satellite, the state bits
    /// of its sensor number `channel`. Other models have no states (refused without bus
    /// traffic).
    pub async fn read_states(&mut self, channel: u8) -> Result<u16, DeviceError> {
        let _ = channel;
        match self {
            #[cfg(feature = "adm1272")]
            AnyDevice::Adm1272(d) if channel == 0 => d.psu_states().await,
            #[cfg(feature = "ipmb-satellite")]
            AnyDevice::Satellite(d) => d.read_states(channel).await,
            AnyDevice::Unsupported(m, _) if m.has_states() => Err(DeviceError::Nack),
            _ => Err(DeviceError::NoSuchChannel),
        }
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

/// Reads one byte register through the pointer/command byte, the SMBus "read byte" shape every
/// part here uses.
pub(crate) async fn read_u8<I: I2c>(i2c: &mut I, address: u8, reg: u8) -> Result<u8, DeviceError> {
    let mut buf = [0u8; 1];
    i2c.write_read(address, &[reg], &mut buf)
        .await
        .map_err(DeviceError::from_i2c)?;
    Ok(buf[0])
}

/// Reads a two-byte register as sent on the wire; callers pick the byte order (LM75-style parts
/// are big-endian, SMBus/PMBus words little-endian).
pub(crate) async fn read_2<I: I2c>(
    i2c: &mut I,
    address: u8,
    reg: u8,
) -> Result<[u8; 2], DeviceError> {
    let mut buf = [0u8; 2];
    i2c.write_read(address, &[reg], &mut buf)
        .await
        .map_err(DeviceError::from_i2c)?;
    Ok(buf)
}

pub(crate) async fn write<I: I2c>(
    i2c: &mut I,
    address: u8,
    bytes: &[u8],
) -> Result<(), DeviceError> {
    i2c.write(address, bytes)
        .await
        .map_err(DeviceError::from_i2c)
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
