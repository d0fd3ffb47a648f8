//! FRU inventory (IPMI Platform Management FRU Information Storage Definition v1.0): the
//! common header, Chassis, Board and Product Info areas, the multi-record area, and a
//! [`Builder`] that writes an EEPROM image.
//!
//! Parsing borrows from the EEPROM bytes and checks every length and checksum, returning an
//! error value rather than trusting offsets: FRU EEPROMs are field-replaceable, so their bytes
//! are as untrusted as a network packet. Areas are decoded on demand, so one corrupt area does
//! not hide the others.
//!
//! The builder exists for tests and for the simulated AT24 EEPROM: a board file names the
//! strings, the builder lays them out with the offsets, padding and checksums a real tool
//! (ipmitool, frugen) would produce, and the same parser reads them back.

use crate::text::{Text, TextEncoding, TextError};

/// Why a FRU image could not be parsed or built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FruError {
    /// Fewer bytes than the header or an area claims.
    Truncated,
    /// The common header's format version is not 1.
    UnsupportedVersion(u8),
    /// A zero-sum checksum does not add up, in the area named.
    Checksum(Area),
    /// An area's fields run past its end without the C1h end marker.
    MissingEndMarker(Area),
    /// A multi-record chain runs past the end of the image.
    MultiRecordOverrun,
    /// Building: the image does not fit the buffer, or an area exceeds 2040 bytes.
    TooLarge,
    /// Building: a field cannot be packed, or is longer than 63 bytes.
    Field(TextError),
}

impl From<TextError> for FruError {
    fn from(e: TextError) -> Self {
        FruError::Field(e)
    }
}

/// Which part of the image an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Header,
    InternalUse,
    Chassis,
    Board,
    Product,
    MultiRecord,
}

/// The end-of-fields marker: type 11b with length 1, which therefore never starts a field.
pub const END_OF_FIELDS: u8 = 0xC1;
/// The longest field a type/length byte can describe.
pub const FIELD_MAX: usize = 63;
/// Language code 0 and 25 both mean English, where type 11b is Latin 1 rather than UCS-2.
pub const LANGUAGE_ENGLISH: u8 = 0;
/// 1996-01-01 00:00 UTC, the epoch of the Board Info manufacturing date, in Unix seconds.
pub const MFG_EPOCH_UNIX: u64 = 820_454_400;

const fn is_english(language: u8) -> bool {
    language == 0 || language == 25
}

fn zero_sum(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == 0
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_sub(*b))
}

/// The 8-byte common header: area offsets in bytes (stored in multiples of 8; 0 = absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommonHeader {
    pub internal_use: usize,
    pub chassis: usize,
    pub board: usize,
    pub product: usize,
    pub multi_record: usize,
}

impl CommonHeader {
    pub const LEN: usize = 8;

    pub fn decode(bytes: &[u8]) -> Result<Self, FruError> {
        let h = bytes.get(..Self::LEN).ok_or(FruError::Truncated)?;
        if h[0] & 0x0F != 1 {
            return Err(FruError::UnsupportedVersion(h[0]));
        }
        if !zero_sum(h) {
            return Err(FruError::Checksum(Area::Header));
        }
        let off = |b: u8| usize::from(b) * 8;
        Ok(CommonHeader {
            internal_use: off(h[1]),
            chassis: off(h[2]),
            board: off(h[3]),
            product: off(h[4]),
            multi_record: off(h[5]),
        })
    }
}

/// A sequence of type/length fields: either as read (lazily decoded) or as given to the
/// builder.
#[derive(Debug, Clone, Copy)]
pub enum Fields<'a> {
    /// Encoded fields up to (not including) the end marker.
    Packed {
        bytes: &'a [u8],
        english: bool,
    },
    List(&'a [Text<'a>]),
}

impl<'a> Fields<'a> {
    pub const EMPTY: Fields<'static> = Fields::List(&[]);

    pub fn iter(&self) -> FieldIter<'a> {
        match *self {
            Fields::Packed { bytes, english } => FieldIter::Packed { bytes, english },
            Fields::List(l) => FieldIter::List(l.iter()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for Fields<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

#[derive(Debug, Clone)]
pub enum FieldIter<'a> {
    Packed { bytes: &'a [u8], english: bool },
    List(core::slice::Iter<'a, Text<'a>>),
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = Text<'a>;

    fn next(&mut self) -> Option<Text<'a>> {
        match self {
            FieldIter::List(it) => it.next().copied(),
            FieldIter::Packed { bytes, english } => {
                // Validated when the area was parsed, so reading cannot fail here; a short
                // slice just ends the iteration.
                let (t, rest) = read_field(bytes, *english).ok()??;
                *bytes = rest;
                Some(t)
            }
        }
    }
}

fn field_encoding(type_bits: u8, english: bool) -> TextEncoding {
    match type_bits & 3 {
        0 => TextEncoding::Unspecified,
        1 => TextEncoding::BcdPlus,
        2 => TextEncoding::SixBitAscii,
        _ if english => TextEncoding::Latin1,
        _ => TextEncoding::Ucs2Le,
    }
}

/// Reads one field; `Ok(None)` at the end marker.
fn read_field(bytes: &[u8], english: bool) -> Result<Option<(Text<'_>, &[u8])>, ()> {
    let (&tl, rest) = bytes.split_first().ok_or(())?;
    if tl == END_OF_FIELDS {
        return Ok(None);
    }
    let len = usize::from(tl & 0x3F);
    if rest.len() < len {
        return Err(());
    }
    let (data, rest) = rest.split_at(len);
    Ok(Some((
        Text::packed(field_encoding(tl >> 6, english), data),
        rest,
    )))
}

/// The fields of an area body (after its fixed bytes), checked up to the end marker.
///
/// A field that runs past the area is remembered (`overrun`) rather than returned at once, and
/// reported by [`AreaFields::custom`], which every area reads last: one error exit per area
/// instead of one per fixed field (the bare-metal image inlines all three areas' readers).
struct AreaFields<'a> {
    rest: &'a [u8],
    english: bool,
    ended: bool,
    overrun: bool,
    area: Area,
}

impl<'a> AreaFields<'a> {
    fn new(rest: &'a [u8], english: bool, area: Area) -> Self {
        AreaFields {
            rest,
            english,
            ended: false,
            overrun: false,
            area,
        }
    }

    /// The next fixed field; an area that ends early yields empty fields, as tools do.
    fn next_fixed(&mut self) -> Text<'a> {
        if self.ended {
            return Text::EMPTY;
        }
        match read_field(self.rest, self.english) {
            Ok(Some((t, rest))) => {
                self.rest = rest;
                return t;
            }
            Ok(None) => {}
            Err(()) => self.overrun = true,
        }
        self.ended = true;
        Text::EMPTY
    }

    /// The custom fields: everything up to the end marker, which must exist. The area's error
    /// when a fixed field overran it.
    fn custom(self) -> Result<Fields<'a>, FruError> {
        let area = self.area;
        if self.overrun {
            return Err(FruError::MissingEndMarker(area));
        }
        if self.ended {
            return Ok(Fields::Packed {
                bytes: &[],
                english: self.english,
            });
        }
        let start = self.rest;
        let mut rest = self.rest;
        loop {
            match read_field(rest, self.english) {
                Ok(Some((_, r))) => rest = r,
                Ok(None) => break,
                Err(()) => return Err(FruError::MissingEndMarker(area)),
            }
        }
        Ok(Fields::Packed {
            bytes: &start[..start.len() - rest.len()],
            english: self.english,
        })
    }
}

/// Finds and checks an area: version byte, length, checksum. Returns the area bytes without
/// the checksum byte.
fn area_bytes(bytes: &[u8], offset: usize, area: Area) -> Result<&[u8], FruError> {
    let head = bytes.get(offset..offset + 2).ok_or(FruError::Truncated)?;
    if head[0] & 0x0F != 1 {
        return Err(FruError::UnsupportedVersion(head[0]));
    }
    let len = usize::from(head[1]) * 8;
    if len < 8 {
        return Err(FruError::Truncated);
    }
    let a = bytes.get(offset..offset + len).ok_or(FruError::Truncated)?;
    if !zero_sum(a) {
        return Err(FruError::Checksum(area));
    }
    Ok(&a[..len - 1])
}

/// Chassis Info area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChassisInfo<'a> {
    /// SMBIOS chassis type (e.g. 17h rack mount chassis).
    pub chassis_type: u8,
    pub part_number: Text<'a>,
    pub serial_number: Text<'a>,
    pub custom: Fields<'a>,
}

/// Board Info area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoardInfo<'a> {
    pub language: u8,
    /// Minutes since 1996-01-01 00:00 UTC (24 bits); 0 = unspecified.
    pub mfg_minutes: u32,
    pub manufacturer: Text<'a>,
    pub product_name: Text<'a>,
    pub serial_number: Text<'a>,
    pub part_number: Text<'a>,
    pub fru_file_id: Text<'a>,
    pub custom: Fields<'a>,
}

impl BoardInfo<'_> {
    /// The manufacturing time as Unix seconds, `None` when unspecified.
    pub const fn mfg_unix_seconds(&self) -> Option<u64> {
        if self.mfg_minutes == 0 {
            None
        } else {
            Some(MFG_EPOCH_UNIX + self.mfg_minutes as u64 * 60)
        }
    }

    /// Minutes since the FRU epoch for a Unix time (saturating into the 24-bit field).
    pub const fn minutes_from_unix(unix_seconds: u64) -> u32 {
        let m = unix_seconds.saturating_sub(MFG_EPOCH_UNIX) / 60;
        if m > 0xFF_FFFF { 0xFF_FFFF } else { m as u32 }
    }
}

/// Product Info area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProductInfo<'a> {
    pub language: u8,
    pub manufacturer: Text<'a>,
    pub product_name: Text<'a>,
    pub part_number: Text<'a>,
    pub version: Text<'a>,
    pub serial_number: Text<'a>,
    pub asset_tag: Text<'a>,
    pub fru_file_id: Text<'a>,
    pub custom: Fields<'a>,
}

/// One multi-record area record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiRecord<'a> {
    /// 00h power supply, 01h DC output, 02h DC load, 03h management access, 04h base
    /// compatibility, 05h extended compatibility, C0h..FFh OEM.
    pub record_type: u8,
    pub data: &'a [u8],
}

/// A parsed FRU image. Construction checks the common header only; each area is checked
/// when asked for.
#[derive(Debug, Clone, Copy)]
pub struct Fru<'a> {
    bytes: &'a [u8],
    header: CommonHeader,
}

impl<'a> Fru<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FruError> {
        Ok(Fru {
            bytes,
            header: CommonHeader::decode(bytes)?,
        })
    }

    pub const fn header(&self) -> &CommonHeader {
        &self.header
    }

    /// The internal use area's bytes after its version byte, up to the next area (its length
    /// is not recorded anywhere else).
    pub fn internal_use(&self) -> Result<Option<&'a [u8]>, FruError> {
        let start = self.header.internal_use;
        if start == 0 {
            return Ok(None);
        }
        let h = &self.header;
        let end = [h.chassis, h.board, h.product, h.multi_record]
            .into_iter()
            .filter(|&o| o > start)
            .min()
            .unwrap_or(self.bytes.len());
        let a = self.bytes.get(start..end).ok_or(FruError::Truncated)?;
        a.get(1..).map(Some).ok_or(FruError::Truncated)
    }

    pub fn chassis(&self) -> Result<Option<ChassisInfo<'a>>, FruError> {
        if self.header.chassis == 0 {
            return Ok(None);
        }
        let a = area_bytes(self.bytes, self.header.chassis, Area::Chassis)?;
        let chassis_type = *a.get(2).ok_or(FruError::Truncated)?;
        let mut f = AreaFields::new(&a[3..], true, Area::Chassis);
        Ok(Some(ChassisInfo {
            chassis_type,
            part_number: f.next_fixed(),
            serial_number: f.next_fixed(),
            custom: f.custom()?,
        }))
    }

    pub fn board(&self) -> Result<Option<BoardInfo<'a>>, FruError> {
        if self.header.board == 0 {
            return Ok(None);
        }
        let a = area_bytes(self.bytes, self.header.board, Area::Board)?;
        let fixed = a.get(2..6).ok_or(FruError::Truncated)?;
        let language = fixed[0];
        let mut f = AreaFields::new(&a[6..], is_english(language), Area::Board);
        Ok(Some(BoardInfo {
            language,
            mfg_minutes: u32::from_le_bytes([fixed[1], fixed[2], fixed[3], 0]),
            manufacturer: f.next_fixed(),
            product_name: f.next_fixed(),
            serial_number: f.next_fixed(),
            part_number: f.next_fixed(),
            fru_file_id: f.next_fixed(),
            custom: f.custom()?,
        }))
    }

    pub fn product(&self) -> Result<Option<ProductInfo<'a>>, FruError> {
        if self.header.product == 0 {
            return Ok(None);
        }
        let a = area_bytes(self.bytes, self.header.product, Area::Product)?;
        let language = *a.get(2).ok_or(FruError::Truncated)?;
        let mut f = AreaFields::new(&a[3..], is_english(language), Area::Product);
        Ok(Some(ProductInfo {
            language,
            manufacturer: f.next_fixed(),
            product_name: f.next_fixed(),
            part_number: f.next_fixed(),
            version: f.next_fixed(),
            serial_number: f.next_fixed(),
            asset_tag: f.next_fixed(),
            fru_file_id: f.next_fixed(),
            custom: f.custom()?,
        }))
    }

    /// The multi-record area's records, each checked (header and data checksums); iteration
    /// stops after the end-of-list record or the first error.
    pub fn multi_records(&self) -> MultiRecords<'a> {
        MultiRecords {
            rest: if self.header.multi_record == 0 {
                &[]
            } else {
                self.bytes.get(self.header.multi_record..).unwrap_or(&[])
            },
            broken: self.header.multi_record != 0 && self.bytes.len() <= self.header.multi_record,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MultiRecords<'a> {
    rest: &'a [u8],
    broken: bool,
}

impl<'a> Iterator for MultiRecords<'a> {
    type Item = Result<MultiRecord<'a>, FruError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.broken {
            self.broken = false;
            return Some(Err(FruError::MultiRecordOverrun));
        }
        if self.rest.is_empty() {
            return None;
        }
        let r = (|| {
            let h = self.rest.get(..5).ok_or(FruError::MultiRecordOverrun)?;
            if !zero_sum(h) {
                return Err(FruError::Checksum(Area::MultiRecord));
            }
            let len = usize::from(h[2]);
            let data = self
                .rest
                .get(5..5 + len)
                .ok_or(FruError::MultiRecordOverrun)?;
            if data.iter().fold(h[3], |a, b| a.wrapping_add(*b)) != 0 {
                return Err(FruError::Checksum(Area::MultiRecord));
            }
            let end = h[1] & 0x80 != 0;
            Ok((
                MultiRecord {
                    record_type: h[0],
                    data,
                },
                end,
                5 + len,
            ))
        })();
        match r {
            Ok((rec, end, used)) => {
                self.rest = if end { &[] } else { &self.rest[used..] };
                Some(Ok(rec))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// Lays out a FRU image: header, internal use, chassis, board, product, multi-record, in that
/// order, each area padded to 8 bytes and checksummed.
///
/// ```
/// use wsbmc_ipmi::fru::{Builder, BoardInfo, Fru, Fields};
/// use wsbmc_ipmi::Text;
/// let board = BoardInfo {
///     language: 0,
///     mfg_minutes: 0,
///     manufacturer: Text::new("wsbmc"),
///     product_name: Text::new("Sim 1U"),
///     serial_number: Text::new("SN0001"),
///     part_number: Text::new("PN-42"),
///     fru_file_id: Text::EMPTY,
///     custom: Fields::EMPTY,
/// };
/// let mut eeprom = [0xFFu8; 256];
/// let n = Builder::new().board(board).write(&mut eeprom).unwrap();
/// let fru = Fru::parse(&eeprom[..n]).unwrap();
/// assert!(fru.board().unwrap().unwrap().serial_number.eq_str("SN0001"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Builder<'a> {
    internal_use: Option<&'a [u8]>,
    chassis: Option<ChassisInfo<'a>>,
    board: Option<BoardInfo<'a>>,
    product: Option<ProductInfo<'a>>,
    multi_records: &'a [MultiRecord<'a>],
}

impl<'a> Builder<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Internal use area data (written after a version byte).
    pub fn internal_use(mut self, data: &'a [u8]) -> Self {
        self.internal_use = Some(data);
        self
    }

    pub fn chassis(mut self, c: ChassisInfo<'a>) -> Self {
        self.chassis = Some(c);
        self
    }

    pub fn board(mut self, b: BoardInfo<'a>) -> Self {
        self.board = Some(b);
        self
    }

    pub fn product(mut self, p: ProductInfo<'a>) -> Self {
        self.product = Some(p);
        self
    }

    pub fn multi_records(mut self, records: &'a [MultiRecord<'a>]) -> Self {
        self.multi_records = records;
        self
    }

    /// Writes the image to the front of `out` and returns its length; bytes after it are left
    /// as they were (an erased EEPROM reads 0xFF there, as on real parts).
    pub fn write(&self, out: &mut [u8]) -> Result<usize, FruError> {
        let hdr = out.get_mut(..CommonHeader::LEN).ok_or(FruError::TooLarge)?;
        hdr.fill(0);
        hdr[0] = 1;
        let mut w = Writer { out, pos: 8 };
        let mut offsets = [0u8; 5];
        if let Some(data) = self.internal_use {
            offsets[0] = w.offset_byte()?;
            w.put(1)?;
            w.put_all(data)?;
            w.pad_to_8()?;
        }
        if let Some(c) = &self.chassis {
            offsets[1] = w.offset_byte()?;
            w.area(|w| {
                w.put(c.chassis_type)?;
                w.field(&c.part_number, true)?;
                w.field(&c.serial_number, true)?;
                w.fields(&c.custom, true)
            })?;
        }
        if let Some(b) = &self.board {
            offsets[2] = w.offset_byte()?;
            let en = is_english(b.language);
            w.area(|w| {
                w.put(b.language)?;
                w.put_all(&b.mfg_minutes.to_le_bytes()[..3])?;
                for t in [
                    &b.manufacturer,
                    &b.product_name,
                    &b.serial_number,
                    &b.part_number,
                    &b.fru_file_id,
                ] {
                    w.field(t, en)?;
                }
                w.fields(&b.custom, en)
            })?;
        }
        if let Some(p) = &self.product {
            offsets[3] = w.offset_byte()?;
            let en = is_english(p.language);
            w.area(|w| {
                w.put(p.language)?;
                for t in [
                    &p.manufacturer,
                    &p.product_name,
                    &p.part_number,
                    &p.version,
                    &p.serial_number,
                    &p.asset_tag,
                    &p.fru_file_id,
                ] {
                    w.field(t, en)?;
                }
                w.fields(&p.custom, en)
            })?;
        }
        if !self.multi_records.is_empty() {
            offsets[4] = w.offset_byte()?;
            let last = self.multi_records.len() - 1;
            for (i, r) in self.multi_records.iter().enumerate() {
                let len = u8::try_from(r.data.len()).map_err(|_| FruError::TooLarge)?;
                let mut h = [
                    r.record_type,
                    0x02 | if i == last { 0x80 } else { 0 },
                    len,
                    checksum(r.data),
                    0,
                ];
                h[4] = checksum(&h[..4]);
                w.put_all(&h)?;
                w.put_all(r.data)?;
            }
        }
        let end = w.pos;
        let hdr = &mut w.out[..CommonHeader::LEN];
        hdr[1..6].copy_from_slice(&offsets);
        hdr[7] = checksum(&hdr[..7]);
        Ok(end)
    }
}

struct Writer<'o> {
    out: &'o mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: u8) -> Result<(), FruError> {
        *self.out.get_mut(self.pos).ok_or(FruError::TooLarge)? = b;
        self.pos += 1;
        Ok(())
    }

    fn put_all(&mut self, b: &[u8]) -> Result<(), FruError> {
        self.out
            .get_mut(self.pos..self.pos + b.len())
            .ok_or(FruError::TooLarge)?
            .copy_from_slice(b);
        self.pos += b.len();
        Ok(())
    }

    fn pad_to_8(&mut self) -> Result<(), FruError> {
        while !self.pos.is_multiple_of(8) {
            self.put(0)?;
        }
        Ok(())
    }

    /// The current position as a header offset byte (multiples of 8, at most 255).
    fn offset_byte(&self) -> Result<u8, FruError> {
        u8::try_from(self.pos / 8).map_err(|_| FruError::TooLarge)
    }

    /// Writes an area: version, length, the body, end marker, padding, checksum.
    fn area(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<(), FruError>,
    ) -> Result<(), FruError> {
        let start = self.pos;
        self.put(1)?;
        self.put(0)?;
        body(self)?;
        self.put(END_OF_FIELDS)?;
        while !(self.pos + 1 - start).is_multiple_of(8) {
            self.put(0)?;
        }
        let len = (self.pos + 1 - start) / 8;
        self.out[start + 1] = u8::try_from(len).map_err(|_| FruError::TooLarge)?;
        let sum = checksum(&self.out[start..self.pos]);
        self.put(sum)
    }

    fn fields(&mut self, f: &Fields<'_>, english: bool) -> Result<(), FruError> {
        match *f {
            // Already-encoded fields of the same language kind go back as they came.
            Fields::Packed { bytes, english: e } if e == english => self.put_all(bytes),
            _ => f.iter().try_for_each(|t| self.field(&t, english)),
        }
    }

    /// Type 11b means Latin 1 in an English area and UCS-2 in any other, so a string given
    /// as characters is packed in whichever width the area's language implies.
    fn field(&mut self, t: &Text<'_>, english: bool) -> Result<(), FruError> {
        let enc = t.encoding();
        let want = if english {
            TextEncoding::Latin1
        } else {
            TextEncoding::Ucs2Le
        };
        if matches!(enc, TextEncoding::Latin1 | TextEncoding::Ucs2Le) && enc != want {
            return match *t {
                Text::Str { .. } => self.field_as(t, want, english),
                // Re-packing borrowed bytes in another width would need a buffer.
                Text::Packed { bytes: [], .. } => self.field_as(t, enc, english),
                Text::Packed { .. } => Err(FruError::Field(TextError::Unrepresentable('?'))),
            };
        }
        self.field_as(t, enc, english)
    }

    fn field_as(&mut self, t: &Text<'_>, enc: TextEncoding, english: bool) -> Result<(), FruError> {
        let t = match *t {
            Text::Str { s, .. } => Text::with_encoding(s, enc),
            p => p,
        };
        let mut len = t.packed_len()?;
        let mut t = t;
        // A one-byte Latin 1 field would have the type/length byte C1h, the end marker; pack
        // it as 6-bit ASCII or as plain bytes instead, which decode to the same character.
        if english && t.encoding() == TextEncoding::Latin1 && len == 1 {
            let c = t.chars().next().unwrap_or(' ');
            t = if (' '..='_').contains(&c) {
                match t {
                    Text::Str { s, .. } => Text::with_encoding(s, TextEncoding::SixBitAscii),
                    Text::Packed { bytes, .. } => Text::packed(TextEncoding::Unspecified, bytes),
                }
            } else if c.is_ascii_graphic() {
                match t {
                    Text::Str { s, .. } => Text::with_encoding(s, TextEncoding::Unspecified),
                    Text::Packed { bytes, .. } => Text::packed(TextEncoding::Unspecified, bytes),
                }
            } else {
                return Err(FruError::Field(TextError::Unrepresentable(c)));
            };
            len = t.packed_len()?;
        }
        if len > FIELD_MAX {
            return Err(FruError::Field(TextError::TooLong));
        }
        let bits = match t.encoding() {
            TextEncoding::Unspecified => 0,
            TextEncoding::BcdPlus => 1,
            TextEncoding::SixBitAscii => 2,
            TextEncoding::Latin1 | TextEncoding::Ucs2Le => 3,
        };
        self.put((bits << 6) | len as u8)?;
        let dst = self
            .out
            .get_mut(self.pos..self.pos + len)
            .ok_or(FruError::TooLarge)?;
        t.pack(dst)?;
        self.pos += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image whose only area is a one-block Board Info area holding `fields` after the
    /// language and date bytes (`fields` is 2 bytes: a type/length byte and one more).
    fn board_image(fields: [u8; 2]) -> [u8; 16] {
        let mut e = [0x01, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 0, 0, 0];
        e[7] = checksum(&e[..7]);
        e[14..16].copy_from_slice(&fields);
        e[15] = checksum(&e[8..15]);
        e
    }

    #[test]
    fn a_fixed_field_past_the_area_is_the_areas_error() {
        // Type 11b, length 5: runs past the 7 bytes the area has before its checksum.
        let e = board_image([0xC5, 0]);
        let fru = Fru::parse(&e).unwrap();
        assert_eq!(fru.board(), Err(FruError::MissingEndMarker(Area::Board)));
        assert_eq!(fru.chassis(), Ok(None));
    }

    #[test]
    fn an_area_that_ends_early_has_empty_fields() {
        let e = board_image([END_OF_FIELDS, 0]);
        let b = Fru::parse(&e).unwrap().board().unwrap().unwrap();
        assert!(b.manufacturer.eq_str("") && b.fru_file_id.eq_str(""));
        assert!(b.custom.is_empty());
    }
}
