//! A satellite management controller on IPMB (a PSU's or a PCIe card's own controller): its
//! sensors are read with IPMI commands, and their conversion to real units comes from the
//! satellite's own Sensor Data Records.
//!
//! The SDRs are read once, lazily, with Get Device SDR in pieces of at most [`PIECE`] bytes:
//! a whole record does not fit a 32-byte IPMB frame. Pieces are read under a reservation, which
//! the satellite cancels when its repository changes (completion code C5h); the record is then
//! read again under a new reservation. Loading keeps its progress between calls, so a poller that
//! bounds each read in time still gets through a slow satellite's repository over a few polls.
//!
//! A controller reached as "the BMC" of a system interface (the kernel's IPMI message handler
//! over `ipmi-ipmb`, KCS or SSIF) may keep an SDR Repository rather than a Device SDR
//! Repository. Such a controller answers Get Device SDR Info with "invalid command" (C1h), and
//! the records are then read with the Storage commands (Get SDR Repository Info, Reserve SDR
//! Repository, Get SDR), as ipmitool does for a BMC. The two differ only in their command codes.
//!
//! Only the linear conversion of full sensor records (type 01h) is decoded here, which is all a
//! reading needs: `y = (M·x + B·10^Bexp)·10^Rexp` in the record's unit. The complete SDR codec is
//! `wsbmc_ipmi::sdr`.

use wsbmc_ipmi::ipmb::{cc, cmd, netfn};

use super::{Chip, DeviceModel, Driver};
use crate::DeviceError;
use crate::ipmb::{Ipmb, IpmiLink, RequestError, Requester};
use crate::pmbus::div_round;

/// Bytes per Get Device SDR piece. A response carries at most 22 record bytes in a 32-byte frame
/// after its header, completion code and next-record ID; 16 leaves room and is what satellites
/// commonly accept.
pub const PIECE: u8 = 16;
/// Sensors remembered per satellite: a PSU or add-in card controller has a handful.
pub const MAX_SENSORS: usize = 16;
/// Records walked at most, so a satellite whose next-record chain loops cannot hold the poller.
const MAX_RECORDS: u16 = 64;
/// Reservations taken per load before giving up: a satellite that keeps cancelling them is
/// rewriting its repository and will be asked again at the next poll.
const MAX_RESERVATIONS: u8 = 4;
/// Full sensor records are at most 64 bytes (5 header + 59 body, ID string included).
const MAX_RECORD: usize = 64;
const HEADER: usize = 5;
const FULL_SENSOR: u8 = 0x01;

/// The linear conversion of one sensor, from its full SDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linear {
    pub m: i16,
    pub b: i16,
    pub b_exp: i8,
    pub r_exp: i8,
    /// Sensor Units 1 bits 7:6: 0 unsigned, 1 one's complement, 2 two's complement, 3 none.
    pub format: u8,
}

fn sign_extend(v: u16, bits: u32) -> i16 {
    let shift = 16 - bits;
    ((v << shift) as i16) >> shift
}

impl Linear {
    /// Extracts the conversion from a full sensor record (header included); `None` for a
    /// record that is too short, non-linear, or has no analog reading.
    pub fn from_full_record(rec: &[u8]) -> Option<(u8, Linear)> {
        if rec.len() < 30 || rec.get(3) != Some(&FULL_SENSOR) {
            return None;
        }
        let format = rec[20] >> 6;
        // Linearization 0 is linear; 70h is "non-linear, formula in Get Sensor Reading
        // Factors", which this driver does not implement.
        if format == 3 || rec[23] & 0x7F != 0 {
            return None;
        }
        let m = sign_extend(u16::from(rec[24]) | (u16::from(rec[25] >> 6) << 8), 10);
        let b = sign_extend(u16::from(rec[26]) | (u16::from(rec[27] >> 6) << 8), 10);
        let r_exp = sign_extend(u16::from(rec[29] >> 4), 4) as i8;
        let b_exp = sign_extend(u16::from(rec[29] & 0x0F), 4) as i8;
        Some((
            rec[7],
            Linear {
                m,
                b,
                b_exp,
                r_exp,
                format,
            },
        ))
    }

    /// Converts a raw reading byte to counts of 10^`scale` of the record's unit, rounded to
    /// nearest. Exact: `M·x·10^(R−s) + B·10^(Bexp+R−s)` over a common power of ten.
    pub fn convert(&self, raw: u8, scale: i8) -> Option<i32> {
        let x: i128 = match self.format {
            0 => i128::from(raw),
            1 => {
                // One's complement: 0xFF is −0.
                if raw & 0x80 != 0 {
                    -i128::from(!raw)
                } else {
                    i128::from(raw)
                }
            }
            2 => i128::from(raw as i8),
            _ => return None,
        };
        let s = i32::from(scale);
        let e1 = i32::from(self.r_exp) - s;
        let e2 = i32::from(self.b_exp) + i32::from(self.r_exp) - s;
        let k = 0.max(-e1).max(-e2);
        let p = |e: i32| 10i128.checked_pow(u32::try_from(e).ok()?);
        let num = i128::from(self.m)
            .checked_mul(x)?
            .checked_mul(p(e1 + k)?)?
            .checked_add(i128::from(self.b).checked_mul(p(e2 + k)?)?)?;
        i32::try_from(div_round(num, p(k)?)?).ok()
    }
}

/// Get Device ID's fixed part (IPMI 2.0 §20.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceId {
    pub device_id: u8,
    pub revision: u8,
    pub firmware_major: u8,
    pub firmware_minor: u8,
    pub ipmi_version: u8,
    pub manufacturer: u32,
    pub product: u16,
}

/// Which repository the controller keeps its SDRs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repository {
    /// A satellite's Device SDR Repository (Sensor/Event: Get Device SDR, IPMI 2.0 §35).
    Device,
    /// A BMC's SDR Repository (Storage: Get SDR, IPMI 2.0 §33).
    Storage,
}

impl Repository {
    /// Network function, Reserve command and Get command.
    const fn commands(self) -> (u8, u8, u8) {
        match self {
            Repository::Device => (
                netfn::SENSOR_EVENT,
                cmd::RESERVE_DEVICE_SDR_REPOSITORY,
                cmd::GET_DEVICE_SDR,
            ),
            Repository::Storage => (netfn::STORAGE, cmd::RESERVE_SDR_REPOSITORY, cmd::GET_SDR),
        }
    }
}

/// Get SDR Repository Info's response is 14 bytes (IPMI 2.0 §33.9); a shorter one is not from
/// a repository.
const REPOSITORY_INFO_LEN: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    /// Nothing read yet, or the last load was abandoned.
    Start,
    /// Walking records: the reservation in force and the next record to read.
    Walking {
        reservation: u16,
        next: u16,
    },
    Done,
}

/// Whether a Get Sensor Reading response of `n` bytes (at least `min`) carries a reading:
/// byte 2 bit 5 set is "reading/state unavailable", bit 6 clear is scanning disabled.
fn scanned(b: &[u8; 8], n: usize, min: usize) -> Result<(), DeviceError> {
    if n < min || b[1] & 0x20 != 0 || b[1] & 0x40 == 0 {
        return Err(DeviceError::BadData);
    }
    Ok(())
}

/// One satellite controller at an 8-bit IPMB slave address, reached through the link `L`.
#[derive(Debug)]
pub struct Satellite<L> {
    link: Option<L>,
    address: u8,
    repository: Repository,
    lun: u8,
    scale: i8,
    sensors: [Option<(u8, Linear)>; MAX_SENSORS],
    load: Load,
    walked: u16,
    reservations: u8,
    piece: u8,
}

impl<T: Ipmb> Satellite<Requester<T>> {
    /// A satellite at 7-bit address `address` (the board file's form) on the IPMB `transport`.
    /// Readings come out in 10^-3 of the SDR's unit (m°C, mV, mA, mW), except fan speeds,
    /// which have no fractional part: see [`Satellite::read_scaled`].
    pub fn new(transport: T, address: u8) -> Self {
        Self::with_link(Some(Requester::new(transport)), address)
    }
}

impl<L: IpmiLink> Satellite<L> {
    /// A satellite with no link: reads fail as absent.
    pub fn unbound(address: u8) -> Self {
        Self::with_link(None, address)
    }

    /// A satellite at 7-bit `address` reached through `link` (e.g. the kernel's IPMI device).
    pub fn with_link(link: Option<L>, address: u8) -> Self {
        Satellite {
            link,
            address: address << 1,
            repository: Repository::Device,
            lun: 0,
            scale: -3,
            sensors: [None; MAX_SENSORS],
            load: Load::Start,
            walked: 0,
            reservations: 0,
            piece: PIECE,
        }
    }

    /// The 8-bit slave address requests go to.
    pub fn slave_address(&self) -> u8 {
        self.address
    }

    pub fn link(&mut self) -> Option<&mut L> {
        self.link.as_mut()
    }

    /// The repository the last SDR load found (a Device SDR Repository until one has run).
    pub fn repository(&self) -> Repository {
        self.repository
    }

    async fn call(
        &mut self,
        net_fn: u8,
        command: u8,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RequestError> {
        let (address, lun) = (self.address, self.lun);
        let link = self.link.as_mut().ok_or(RequestError::Nack)?;
        link.request(address, net_fn, lun, command, data, out).await
    }

    pub async fn device_id(&mut self) -> Result<DeviceId, DeviceError> {
        let mut b = [0u8; 32];
        let n = self
            .call(netfn::APP, cmd::GET_DEVICE_ID, &[], &mut b)
            .await?;
        if n < 11 {
            return Err(DeviceError::BadData);
        }
        Ok(DeviceId {
            device_id: b[0],
            revision: b[1] & 0x0F,
            firmware_major: b[2] & 0x7F,
            firmware_minor: b[3],
            ipmi_version: b[4],
            manufacturer: u32::from_le_bytes([b[6], b[7], b[8], 0]) & 0x000F_FFFF,
            product: u16::from_le_bytes([b[9], b[10]]),
        })
    }

    /// Number of SDRs the satellite holds (Get Device SDR Info, "SDR count" form).
    pub async fn sdr_count(&mut self) -> Result<u8, DeviceError> {
        let mut b = [0u8; 8];
        let n = self
            .call(
                netfn::SENSOR_EVENT,
                cmd::GET_DEVICE_SDR_INFO,
                &[0x01],
                &mut b,
            )
            .await?;
        if n < 2 {
            return Err(DeviceError::BadData);
        }
        Ok(b[0])
    }

    /// Finds the repository: the Device SDR Repository, or, when the controller does not know
    /// Get Device SDR Info, the SDR Repository a BMC keeps.
    async fn probe_repository(&mut self) -> Result<Repository, DeviceError> {
        let mut b = [0u8; 8];
        match self
            .call(
                netfn::SENSOR_EVENT,
                cmd::GET_DEVICE_SDR_INFO,
                &[0x01],
                &mut b,
            )
            .await
        {
            Ok(n) if n >= 2 => return Ok(Repository::Device),
            Ok(_) => return Err(DeviceError::BadData),
            // The one answer that means "no Device SDR Repository here".
            Err(RequestError::Completion(cc::INVALID_COMMAND)) => {}
            Err(e) => return Err(e.into()),
        }
        let mut b = [0u8; 32];
        let n = self
            .call(netfn::STORAGE, cmd::GET_SDR_REPOSITORY_INFO, &[], &mut b)
            .await?;
        if n < REPOSITORY_INFO_LEN {
            return Err(DeviceError::BadData);
        }
        Ok(Repository::Storage)
    }

    async fn reserve(&mut self) -> Result<u16, DeviceError> {
        if self.reservations >= MAX_RESERVATIONS {
            self.load = Load::Start;
            self.reservations = 0;
            return Err(DeviceError::BadData);
        }
        self.reservations += 1;
        let (net_fn, reserve, _) = self.repository.commands();
        let mut b = [0u8; 8];
        let n = self.call(net_fn, reserve, &[], &mut b).await?;
        if n < 2 {
            return Err(DeviceError::BadData);
        }
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Reads `len` bytes of record `id` from `offset`; returns the next record ID. On a
    /// cancelled reservation returns `Ok(None)`, and the caller re-reserves.
    async fn piece(
        &mut self,
        reservation: u16,
        id: u16,
        offset: u8,
        len: u8,
        out: &mut [u8],
    ) -> Result<Option<u16>, DeviceError> {
        let r = reservation.to_le_bytes();
        let i = id.to_le_bytes();
        let req = [r[0], r[1], i[0], i[1], offset, len];
        let (net_fn, _, get) = self.repository.commands();
        let mut b = [0u8; 32];
        match self.call(net_fn, get, &req, &mut b).await {
            Ok(n) => {
                let want = usize::from(len);
                if n != want + 2 {
                    return Err(DeviceError::BadData);
                }
                out.get_mut(..want)
                    .ok_or(DeviceError::BadData)?
                    .copy_from_slice(&b[2..2 + want]);
                Ok(Some(u16::from_le_bytes([b[0], b[1]])))
            }
            Err(RequestError::Completion(cc::RESERVATION_CANCELLED)) => Ok(None),
            Err(RequestError::Completion(cc::CANNOT_RETURN_BYTES)) if self.piece > 4 => {
                // Ask for less next time; the caller retries this piece.
                self.piece /= 2;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Reads one whole record. `Ok(None)` means the reservation was lost (or the piece size
    /// shrunk) and the record must be read again.
    async fn record(
        &mut self,
        reservation: u16,
        id: u16,
        buf: &mut [u8; MAX_RECORD],
    ) -> Result<Option<(u16, usize)>, DeviceError> {
        let Some(next) = self.piece(reservation, id, 0, HEADER as u8, buf).await? else {
            return Ok(None);
        };
        let total = (HEADER + usize::from(buf[4])).min(MAX_RECORD);
        let mut off = HEADER;
        while off < total {
            let len = (total - off).min(usize::from(self.piece));
            let (o, l) = (off as u8, len as u8);
            let mut tmp = [0u8; 32];
            if self.piece(reservation, id, o, l, &mut tmp).await?.is_none() {
                return Ok(None);
            }
            buf[off..off + len].copy_from_slice(&tmp[..len]);
            off += len;
        }
        Ok(Some((next, total)))
    }

    /// Walks the repository until done, keeping progress across calls (and across a caller
    /// dropping this future between records).
    pub async fn load_sdrs(&mut self) -> Result<(), DeviceError> {
        loop {
            match self.load {
                Load::Done => return Ok(()),
                Load::Start => {
                    self.repository = self.probe_repository().await?;
                    self.sensors = [None; MAX_SENSORS];
                    self.walked = 0;
                    self.reservations = 0;
                    let reservation = self.reserve().await?;
                    self.load = Load::Walking {
                        reservation,
                        next: 0,
                    };
                }
                Load::Walking { reservation, next } => {
                    if next == 0xFFFF || self.walked >= MAX_RECORDS {
                        self.load = Load::Done;
                        continue;
                    }
                    let mut rec = [0u8; MAX_RECORD];
                    match self.record(reservation, next, &mut rec).await? {
                        None => {
                            let reservation = self.reserve().await?;
                            self.load = Load::Walking { reservation, next };
                        }
                        Some((after, len)) => {
                            if let Some(entry) = Linear::from_full_record(&rec[..len])
                                && let Some(slot) = self
                                    .sensors
                                    .iter_mut()
                                    .find(|s| s.is_none_or(|(n, _)| n == entry.0))
                            {
                                *slot = Some(entry);
                            }
                            self.walked += 1;
                            self.load = Load::Walking {
                                reservation,
                                next: after,
                            };
                        }
                    }
                }
            }
        }
    }

    /// The conversion of a sensor, once the SDRs are loaded.
    pub fn linear(&self, sensor: u8) -> Option<Linear> {
        self.sensors
            .iter()
            .flatten()
            .find(|(n, _)| *n == sensor)
            .map(|(_, l)| *l)
    }

    /// Forgets the SDRs, e.g. after the satellite was replaced.
    pub fn invalidate(&mut self) {
        self.load = Load::Start;
    }

    /// Get Sensor Reading's response bytes and how many came.
    async fn get_sensor_reading(&mut self, sensor: u8) -> Result<([u8; 8], usize), RequestError> {
        let mut b = [0u8; 8];
        let n = self
            .call(
                netfn::SENSOR_EVENT,
                cmd::GET_SENSOR_READING,
                &[sensor],
                &mut b,
            )
            .await?;
        Ok((b, n))
    }

    /// The raw reading byte of a sensor (Get Sensor Reading).
    pub async fn read_raw(&mut self, sensor: u8) -> Result<u8, DeviceError> {
        let (b, n) = match self.get_sensor_reading(sensor).await {
            Ok(r) => r,
            // A satellite that lost its power or was swapped may answer "not present" for
            // a sensor it listed: reload the SDRs next time.
            Err(RequestError::Completion(cc::NOT_PRESENT)) => {
                self.invalidate();
                return Err(DeviceError::BadData);
            }
            Err(e) => return Err(e.into()),
        };
        scanned(&b, n, 2)?;
        Ok(b[0])
    }

    /// The state bits (offsets 0..=14) of a discrete sensor, from Get Sensor Reading's third and
    /// fourth bytes. No SDR is needed: the board file says what the states mean. A sensor whose
    /// reading is unavailable or not scanning has no states to tell (BadData).
    pub async fn read_states(&mut self, sensor: u8) -> Result<u16, DeviceError> {
        let (b, n) = self.get_sensor_reading(sensor).await?;
        scanned(&b, n, 3)?;
        // Byte 4 is optional for sensors with at most 8 states.
        let high = if n >= 4 { b[3] & 0x7F } else { 0 };
        Ok(u16::from_le_bytes([b[2], high]))
    }

    /// Reads sensor `sensor` in counts of 10^`scale` of its SDR unit.
    pub async fn read_scaled(&mut self, sensor: u8, scale: i8) -> Result<i32, DeviceError> {
        if let Err(e) = self.load_sdrs().await {
            // A satellite that does not answer is gone, and a new one may have other SDRs.
            if matches!(e, DeviceError::Nack | DeviceError::Timeout) {
                self.invalidate();
            }
            return Err(e);
        }
        let linear = self.linear(sensor).ok_or(DeviceError::NoSuchChannel)?;
        let raw = match self.read_raw(sensor).await {
            Err(e @ (DeviceError::Nack | DeviceError::Timeout)) => {
                self.invalidate();
                return Err(e);
            }
            r => r?,
        };
        linear.convert(raw, scale).ok_or(DeviceError::BadData)
    }

    /// Reads sensor `channel` (the satellite's sensor number) in the default scale (10^-3).
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        self.read_scaled(channel, self.scale).await
    }
}

/// No channel table: its channels are whatever its SDRs list, named by sensor number (the
/// registration marks it `remote`).
impl<L> Chip for Satellite<L> {}

/// Bound from a board's I2C table, a satellite has no link (an I2C bus is not an IPMB
/// transport) and reads as absent until [`super::AnyDevice::satellite`] replaces it.
/// Its reads go over its IPMI link ([`Driver::read_scaled`]), never through the I2C steps.
impl<I, L> super::Steps<I> for Satellite<L> {}

impl<I, L: IpmiLink> Driver<I, L> for Satellite<L> {
    fn bind(_: DeviceModel, _: I, address: u8, _: Option<core::num::NonZeroU32>) -> Option<Self> {
        Some(Self::unbound(address))
    }

    fn model(&self) -> DeviceModel {
        DeviceModel::IpmbSatellite
    }

    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>> {
        Satellite::read(self, channel)
    }

    fn read_scaled(
        &mut self,
        channel: u8,
        scale: i8,
    ) -> impl Future<Output = Result<i32, DeviceError>> {
        Satellite::read_scaled(self, channel, scale)
    }

    fn read_states(&mut self, channel: u8) -> impl Future<Output = Result<u16, DeviceError>> {
        Satellite::read_states(self, channel)
    }

    async fn controller_id(&mut self) -> Option<(u8, Result<DeviceId, DeviceError>)> {
        Some((self.slave_address(), self.device_id().await))
    }
}

#[cfg(test)]
pub(crate) mod sdr_fixture {
    //! Full sensor records as a satellite stores them, for the tests.
    use std::vec::Vec;

    /// A full sensor record for sensor `number` with the given conversion.
    pub fn full_record(
        id: u16,
        number: u8,
        m: i16,
        b: i16,
        r_exp: i8,
        b_exp: i8,
        fmt: u8,
    ) -> Vec<u8> {
        let mut r = vec![0u8; 48 + 4];
        let idb = id.to_le_bytes();
        r[0] = idb[0];
        r[1] = idb[1];
        r[2] = 0x51;
        r[3] = 0x01;
        r[5] = 0x60;
        r[7] = number;
        r[12] = 0x01; // temperature
        r[13] = 0x01; // threshold
        r[20] = fmt << 6;
        r[21] = 1; // °C
        let m = m as u16 & 0x3FF;
        let b = b as u16 & 0x3FF;
        r[24] = m as u8;
        r[25] = ((m >> 8) as u8) << 6;
        r[26] = b as u8;
        r[27] = ((b >> 8) as u8) << 6;
        r[29] = ((r_exp as u8 & 0x0F) << 4) | (b_exp as u8 & 0x0F);
        r[47] = 0xC0 | 4;
        r[48..52].copy_from_slice(b"Test");
        r[4] = (r.len() - 5) as u8;
        r
    }
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::sdr_fixture::full_record;
    use super::*;
    use crate::ipmb::Requester;
    use crate::ipmb::mock::{Expect, MockIpmb, Reply, expect};
    use futures_lite::future::block_on;

    fn lin(m: i16, b: i16, r_exp: i8, b_exp: i8, format: u8) -> Linear {
        Linear {
            m,
            b,
            b_exp,
            r_exp,
            format,
        }
    }

    #[test]
    fn linear_conversion_table() {
        // (conversion, raw, scale, expected)
        let table: &[(Linear, u8, i8, Option<i32>)] = &[
            (lin(1, 0, 0, 0, 0), 25, -3, Some(25_000)),
            (lin(6, 0, -2, 0, 0), 200, -3, Some(12_000)), // 0.06 V/count
            (lin(100, 0, 0, 0, 0), 54, 0, Some(5_400)),   // fan, RPM
            (lin(1, -40, 0, 0, 0), 65, -3, Some(25_000)), // offset
            (lin(5, 3, -1, 1, 0), 10, -3, Some(8_000)),   // (5·10 + 3·10)·0.1
            (lin(1, 0, 0, 0, 2), 0xE7, -3, Some(-25_000)), // two's complement
            (lin(1, 0, 0, 0, 1), 0xE6, -3, Some(-25_000)), // one's complement
            (lin(1, 0, 0, 0, 1), 0x19, -3, Some(25_000)),
            (lin(1, 0, 0, 0, 1), 0xFF, -3, Some(0)), // −0
            (lin(-2, 0, 0, 0, 0), 10, -3, Some(-20_000)), // negative M
            (lin(1, 0, 0, 0, 3), 10, -3, None),      // no analog reading
            (lin(1, 0, -1, 0, 0), 1, 0, Some(0)),    // 0.1 rounds to 0
            (lin(1, 0, -1, 0, 0), 5, 0, Some(1)),    // 0.5 rounds away
            (lin(511, 511, 7, 7, 0), 255, -3, None), // does not fit i32
        ];
        for (l, raw, scale, want) in table {
            assert_eq!(l.convert(*raw, *scale), *want, "{l:?} raw {raw}");
        }
    }

    #[test]
    fn full_record_decoding() {
        let rec = full_record(1, 0x10, -2, -300, -2, 1, 2);
        let (n, l) = Linear::from_full_record(&rec).unwrap();
        assert_eq!(n, 0x10);
        assert_eq!(l, lin(-2, -300, -2, 1, 2));
        // Too short, wrong type, non-linear, no analog: not usable.
        assert_eq!(Linear::from_full_record(&rec[..20]), None);
        let mut r = rec.clone();
        r[3] = 0x02;
        assert_eq!(Linear::from_full_record(&r), None);
        let mut r = rec.clone();
        r[23] = 0x70;
        assert_eq!(Linear::from_full_record(&r), None);
        let mut r = rec;
        r[20] = 0xC0;
        assert_eq!(Linear::from_full_record(&r), None);
    }

    const RSV: [u8; 2] = [0x34, 0x12];

    fn info() -> Expect {
        expect(
            netfn::SENSOR_EVENT,
            cmd::GET_DEVICE_SDR_INFO,
            &[1],
            Reply::Ok(0, vec![1, 0x01]),
        )
    }

    fn reserve(id: [u8; 2]) -> Expect {
        expect(
            netfn::SENSOR_EVENT,
            cmd::RESERVE_DEVICE_SDR_REPOSITORY,
            &[],
            Reply::Ok(0, id.to_vec()),
        )
    }

    /// The pieces of reading `rec` under reservation `rsv`, `next` being the following record.
    fn pieces(rsv: [u8; 2], rec: &[u8], next: u16, piece: usize) -> Vec<Expect> {
        pieces_in(Repository::Device, rsv, rec, next, piece)
    }

    /// [`pieces`] from either repository.
    fn pieces_in(
        repo: Repository,
        rsv: [u8; 2],
        rec: &[u8],
        next: u16,
        piece: usize,
    ) -> Vec<Expect> {
        let (net_fn, _, get) = repo.commands();
        let id = [rec[0], rec[1]];
        let nb = next.to_le_bytes();
        let mut out = vec![];
        let mut push = |off: usize, len: usize| {
            let mut data = vec![nb[0], nb[1]];
            data.extend_from_slice(&rec[off..off + len]);
            out.push(expect(
                net_fn,
                get,
                &[rsv[0], rsv[1], id[0], id[1], off as u8, len as u8],
                Reply::Ok(0, data),
            ));
        };
        push(0, 5);
        let mut off = 5;
        while off < rec.len() {
            let len = (rec.len() - off).min(piece);
            push(off, len);
            off += len;
        }
        out
    }

    fn reading(sensor: u8, reply: Reply) -> Expect {
        expect(
            netfn::SENSOR_EVENT,
            cmd::GET_SENSOR_READING,
            &[sensor],
            reply,
        )
    }

    fn sat(script: Vec<Expect>) -> Satellite<Requester<MockIpmb>> {
        Satellite::new(MockIpmb::new(script), 0x30)
    }

    #[test]
    fn discrete_state_bits() {
        let mut s = sat(vec![
            reading(0x40, Reply::Ok(0, vec![0, 0xC0, 0x03, 0x80])),
            reading(0x40, Reply::Ok(0, vec![0, 0xC0, 0x01])),
            reading(0x40, Reply::Ok(0, vec![0, 0xE0, 0x01, 0x00])),
            reading(0x40, Reply::Ok(0, vec![0, 0xC0])),
        ]);
        // Bit 15 is reserved and dropped; byte 4 is optional.
        assert_eq!(block_on(s.read_states(0x40)), Ok(0x0003));
        assert_eq!(block_on(s.read_states(0x40)), Ok(0x0001));
        assert_eq!(block_on(s.read_states(0x40)), Err(DeviceError::BadData));
        assert_eq!(block_on(s.read_states(0x40)), Err(DeviceError::BadData));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn loads_sdrs_then_reads() {
        let rec = full_record(0, 0x10, 1, 0, 0, 0, 0);
        let mut script = vec![info(), reserve(RSV)];
        script.extend(pieces(RSV, &rec, 0xFFFF, 16));
        script.push(reading(0x10, Reply::Ok(0, vec![41, 0xC0, 0x00])));
        script.push(reading(0x10, Reply::Ok(0, vec![42, 0xC0, 0x00])));
        let mut s = sat(script);
        assert_eq!(s.slave_address(), 0x60);
        assert_eq!(block_on(s.read(0x10)), Ok(41_000));
        assert_eq!(block_on(s.read(0x10)), Ok(42_000));
        // A sensor without an SDR is refused without bus traffic.
        assert_eq!(block_on(s.read(0x11)), Err(DeviceError::NoSuchChannel));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn reservation_cancelled_mid_record_rereads_it() {
        let rec = full_record(0, 0x10, 1, 0, 0, 0, 0);
        let rsv2 = [0x35, 0x12];
        let mut script = vec![info(), reserve(RSV)];
        let mut first = pieces(RSV, &rec, 0xFFFF, 16);
        first.truncate(2);
        let cancelled = expect(
            netfn::SENSOR_EVENT,
            cmd::GET_DEVICE_SDR,
            &[RSV[0], RSV[1], 0, 0, 21, 16],
            Reply::Ok(cc::RESERVATION_CANCELLED, vec![]),
        );
        script.extend(first);
        script.push(cancelled);
        script.push(reserve(rsv2));
        script.extend(pieces(rsv2, &rec, 0xFFFF, 16));
        script.push(reading(0x10, Reply::Ok(0, vec![30, 0xC0])));
        let mut s = sat(script);
        assert_eq!(block_on(s.read(0x10)), Ok(30_000));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn smaller_pieces_when_asked() {
        let rec = full_record(0, 0x10, 1, 0, 0, 0, 0);
        let mut script = vec![info(), reserve(RSV)];
        let mut p = pieces(RSV, &rec, 0xFFFF, 16);
        p.truncate(1);
        script.extend(p);
        script.push(expect(
            netfn::SENSOR_EVENT,
            cmd::GET_DEVICE_SDR,
            &[RSV[0], RSV[1], 0, 0, 5, 16],
            Reply::Ok(cc::CANNOT_RETURN_BYTES, vec![]),
        ));
        script.push(reserve(RSV));
        script.extend(pieces(RSV, &rec, 0xFFFF, 8));
        script.push(reading(0x10, Reply::Ok(0, vec![30, 0xC0])));
        let mut s = sat(script);
        assert_eq!(block_on(s.read(0x10)), Ok(30_000));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn two_records_and_unavailable_reading() {
        let a = full_record(0, 0x10, 1, 0, 0, 0, 0);
        let b = full_record(7, 0x20, 6, 0, -2, 0, 0);
        let mut script = vec![info(), reserve(RSV)];
        script.extend(pieces(RSV, &a, 7, 16));
        script.extend(pieces(RSV, &b, 0xFFFF, 16));
        script.push(reading(0x20, Reply::Ok(0, vec![200, 0xC0])));
        // Reading unavailable (bit 5), then scanning disabled (bit 6 clear).
        script.push(reading(0x10, Reply::Ok(0, vec![0, 0xE0])));
        script.push(reading(0x10, Reply::Ok(0, vec![0, 0x80])));
        script.push(reading(0x10, Reply::Ok(0, vec![0])));
        let mut s = sat(script);
        assert_eq!(block_on(s.read(0x20)), Ok(12_000));
        for _ in 0..3 {
            assert_eq!(block_on(s.read(0x10)), Err(DeviceError::BadData));
        }
        assert_eq!(s.linear(0x20), Some(lin(6, 0, -2, 0, 0)));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn absent_satellite_is_nack_and_retried_next_time() {
        let nacks: Vec<Expect> = (0..3)
            .map(|_| {
                expect(
                    netfn::SENSOR_EVENT,
                    cmd::GET_DEVICE_SDR_INFO,
                    &[1],
                    Reply::Nack,
                )
            })
            .collect();
        let mut script = nacks;
        script.push(info());
        script.push(reserve(RSV));
        let rec = full_record(0, 0x10, 1, 0, 0, 0, 0);
        script.extend(pieces(RSV, &rec, 0xFFFF, 16));
        script.push(reading(0x10, Reply::Ok(0, vec![20, 0xC0])));
        let mut s = sat(script);
        assert_eq!(block_on(s.read(0x10)), Err(DeviceError::Nack));
        assert_eq!(block_on(s.read(0x10)), Ok(20_000));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn errors_map_to_device_errors() {
        // (reply repeated for every attempt, expected error)
        let table: &[(Reply, DeviceError)] = &[
            (Reply::Bus, DeviceError::Bus),
            (Reply::Silent, DeviceError::Timeout),
            (Reply::BadChecksum(vec![1, 1]), DeviceError::BadData),
            (Reply::WrongSeq(vec![1, 1]), DeviceError::BadData),
        ];
        for (reply, want) in table {
            let script = (0..3)
                .map(|_| {
                    expect(
                        netfn::SENSOR_EVENT,
                        cmd::GET_DEVICE_SDR_INFO,
                        &[1],
                        reply.clone(),
                    )
                })
                .collect();
            let mut s = sat(script);
            assert_eq!(block_on(s.read(0x10)), Err(*want));
            s.link().unwrap().transport().done();
        }
    }

    fn invalid_device_sdr_info() -> Expect {
        expect(
            netfn::SENSOR_EVENT,
            cmd::GET_DEVICE_SDR_INFO,
            &[1],
            Reply::Ok(cc::INVALID_COMMAND, vec![]),
        )
    }

    /// Get SDR Repository Info as QEMU's ipmi-bmc-sim answers it: version 51h, two records,
    /// free space, two "unspecified" timestamps, "reserve supported".
    fn repository_info(len: usize) -> Expect {
        let mut data = vec![0x51, 2, 0, 0x00, 0x40];
        data.extend_from_slice(&[0xFF; 8]);
        data.push(0x22);
        data.truncate(len);
        expect(
            netfn::STORAGE,
            cmd::GET_SDR_REPOSITORY_INFO,
            &[],
            Reply::Ok(0, data),
        )
    }

    fn reserve_repository(id: [u8; 2]) -> Expect {
        expect(
            netfn::STORAGE,
            cmd::RESERVE_SDR_REPOSITORY,
            &[],
            Reply::Ok(0, id.to_vec()),
        )
    }

    #[test]
    fn bmc_repository_when_device_sdr_is_unknown() {
        // A controller answering as "the BMC": no Device SDR commands, an SDR Repository
        // holding a compact record (skipped) and the full record of sensor 0x10.
        let mut compact = full_record(0, 0x10, 1, 0, 0, 0, 0);
        compact[3] = 0x02;
        let full = full_record(1, 0x10, 2, 305, -1, 0, 0);
        let st = Repository::Storage;
        let mut script = vec![
            invalid_device_sdr_info(),
            repository_info(14),
            reserve_repository(RSV),
        ];
        script.extend(pieces_in(st, RSV, &compact, 1, 16));
        script.extend(pieces_in(st, RSV, &full, 0xFFFF, 16));
        // Raw 0: (2·0 + 305)·10^-1 = 30.5.
        script.push(reading(0x10, Reply::Ok(0, vec![0, 0xC0, 0x00])));
        let mut s = sat(script);
        assert_eq!(block_on(s.read(0x10)), Ok(30_500));
        assert_eq!(s.repository(), Repository::Storage);
        assert_eq!(s.linear(0x10), Some(lin(2, 305, -1, 0, 0)));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn bmc_repository_reservation_cancelled() {
        let rec = full_record(0, 0x10, 1, 0, 0, 0, 0);
        let st = Repository::Storage;
        let rsv2 = [0x02, 0x00];
        let mut script = vec![
            invalid_device_sdr_info(),
            repository_info(14),
            reserve_repository(RSV),
        ];
        let mut first = pieces_in(st, RSV, &rec, 0xFFFF, 16);
        first.truncate(1);
        script.extend(first);
        script.push(expect(
            netfn::STORAGE,
            cmd::GET_SDR,
            &[RSV[0], RSV[1], 0, 0, 5, 16],
            Reply::Ok(cc::RESERVATION_CANCELLED, vec![]),
        ));
        script.push(reserve_repository(rsv2));
        script.extend(pieces_in(st, rsv2, &rec, 0xFFFF, 16));
        script.push(reading(0x10, Reply::Ok(0, vec![27, 0xC0])));
        let mut s = sat(script);
        assert_eq!(block_on(s.read(0x10)), Ok(27_000));
        s.link().unwrap().transport().done();
    }

    #[test]
    fn repository_probe_failures() {
        // A short repository info is not a repository; other completion codes of Get Device
        // SDR Info are not "invalid command" and get no fallback; both retry next time.
        let mut s = sat(vec![invalid_device_sdr_info(), repository_info(3)]);
        assert_eq!(block_on(s.read(0x10)), Err(DeviceError::BadData));
        s.link().unwrap().transport().done();
        let mut s = sat(vec![
            expect(
                netfn::SENSOR_EVENT,
                cmd::GET_DEVICE_SDR_INFO,
                &[1],
                Reply::Ok(cc::UNSPECIFIED, vec![]),
            ),
            invalid_device_sdr_info(),
            expect(
                netfn::STORAGE,
                cmd::GET_SDR_REPOSITORY_INFO,
                &[],
                Reply::Ok(cc::INVALID_COMMAND, vec![]),
            ),
            expect(
                netfn::SENSOR_EVENT,
                cmd::GET_DEVICE_SDR_INFO,
                &[1],
                Reply::Ok(0, vec![1]),
            ),
        ]);
        assert_eq!(block_on(s.read(0x10)), Err(DeviceError::BadData));
        assert_eq!(block_on(s.read(0x10)), Err(DeviceError::BadData));
        assert_eq!(block_on(s.read(0x10)), Err(DeviceError::BadData));
        assert_eq!(s.repository(), Repository::Device);
        s.link().unwrap().transport().done();
    }

    #[test]
    fn device_id() {
        let data = vec![
            0x21, 0x81, 0x02, 0x15, 0x51, 0x0F, 0x57, 0x01, 0x00, 0x34, 0x12,
        ];
        let mut s = sat(vec![
            expect(netfn::APP, cmd::GET_DEVICE_ID, &[], Reply::Ok(0, data)),
            expect(
                netfn::APP,
                cmd::GET_DEVICE_ID,
                &[],
                Reply::Ok(0, vec![1, 2]),
            ),
        ]);
        let id = block_on(s.device_id()).unwrap();
        assert_eq!(id.device_id, 0x21);
        assert_eq!(id.revision, 1);
        assert_eq!((id.firmware_major, id.firmware_minor), (2, 0x15));
        assert_eq!(id.manufacturer, 0x157);
        assert_eq!(id.product, 0x1234);
        assert_eq!(block_on(s.device_id()), Err(DeviceError::BadData));
    }

    #[test]
    fn unbound_is_absent() {
        let mut s: Satellite<Requester<MockIpmb>> = Satellite::unbound(0x30);
        assert_eq!(block_on(s.read(1)), Err(DeviceError::Nack));
    }
}
