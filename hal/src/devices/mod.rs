//! One module per part; the module name is the `model` string board files use.

use embedded_hal_async::i2c::I2c;

use crate::{DeviceError, Quantity};

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
        }
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
    ];

    /// The channels a board file may name for this model.
    pub const fn channels(self) -> &'static [ChannelInfo] {
        match self {
            DeviceModel::Tmp75 => TMP75_CHANNELS,
            DeviceModel::Tmp421 => TMP421_CHANNELS,
            DeviceModel::Emc1413 => EMC1413_CHANNELS,
            DeviceModel::Max31785 => MAX31785_CHANNELS,
            DeviceModel::Adm1272 => ADM1272_CHANNELS,
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
];
const ADM1272_CHANNELS: &[ChannelInfo] = &[
    ch("vin", 0, Voltage),
    ch("vout", 1, Voltage),
    ch("iout", 2, Current),
    ch("pin", 3, Power),
    ch("temp", 4, Temperature),
];

/// The closed set of drivers, each owning its bus handle.
pub enum AnyDevice<I> {
    /// Placeholder until the driver modules land; replaced by one variant per model.
    #[doc(hidden)]
    Unbuilt(core::marker::PhantomData<I>, DeviceModel),
}

impl<I: I2c> AnyDevice<I> {
    /// Binds a driver for `model` at 7-bit `address` to `i2c`.
    pub fn new(model: DeviceModel, i2c: I, address: u8) -> Self {
        let _ = (i2c, address);
        AnyDevice::Unbuilt(core::marker::PhantomData, model)
    }

    pub fn model(&self) -> DeviceModel {
        match self {
            AnyDevice::Unbuilt(_, m) => *m,
        }
    }

    /// Reads channel `channel` in the quantity's native scale.
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        let _ = channel;
        Err(DeviceError::NoSuchChannel)
    }
}
