//! FRU property tests: builder → parser round trips, and a parser that never panics.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use wsbmc_ipmi::fru::*;
use wsbmc_ipmi::{Text, TextEncoding};

/// A field string and its packing, avoiding the padding BCD plus and 6-bit ASCII add.
fn field() -> impl Strategy<Value = (String, TextEncoding)> {
    prop_oneof![
        // One-byte Latin 1 fields outside ASCII cannot be encoded (C1h is the end marker).
        4 => "([ -~\u{a0}-\u{ff}]{2,40}|[ -~]?)".prop_map(|s| (s, TextEncoding::Latin1)),
        1 => "([0-9 .-]{2}){0,10}".prop_map(|s| (s, TextEncoding::BcdPlus)),
        1 => "([ -_]{4}){0,8}".prop_map(|s| (s, TextEncoding::SixBitAscii)),
        1 => "[ -~]{0,20}".prop_map(|s| (s, TextEncoding::Unspecified)),
    ]
}

fn t(f: &(String, TextEncoding)) -> Text<'_> {
    Text::with_encoding(&f.0, f.1)
}

#[derive(Debug, Clone)]
struct Image {
    chassis: Option<(u8, Vec<(String, TextEncoding)>)>,
    board: Option<(u32, Vec<(String, TextEncoding)>)>,
    product: Option<Vec<(String, TextEncoding)>>,
    custom: Vec<(String, TextEncoding)>,
    internal: Option<Vec<u8>>,
    multi: Vec<(u8, Vec<u8>)>,
}

fn image() -> impl Strategy<Value = Image> {
    let fields = |n| proptest::collection::vec(field(), n);
    (
        proptest::option::of((any::<u8>(), fields(2))),
        proptest::option::of((0u32..0x100_0000, fields(5))),
        proptest::option::of(fields(7)),
        proptest::collection::vec(field(), 0..4),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        proptest::collection::vec(
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..30)),
            0..3,
        ),
    )
        .prop_map(|(chassis, board, product, custom, internal, multi)| Image {
            chassis,
            board,
            product,
            custom,
            internal,
            multi,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn builder_round_trips(img in image()) {
        let custom: Vec<Text> = img.custom.iter().map(t).collect();
        let multi: Vec<MultiRecord> =
            img.multi.iter().map(|(ty, d)| MultiRecord { record_type: *ty, data: d }).collect();
        let mut b = Builder::new().multi_records(&multi);
        if let Some(i) = &img.internal {
            b = b.internal_use(i);
        }
        let chassis = img.chassis.as_ref().map(|(ty, f)| ChassisInfo {
            chassis_type: *ty,
            part_number: t(&f[0]),
            serial_number: t(&f[1]),
            custom: Fields::List(&custom),
        });
        let board = img.board.as_ref().map(|(min, f)| BoardInfo {
            language: 0,
            mfg_minutes: *min,
            manufacturer: t(&f[0]),
            product_name: t(&f[1]),
            serial_number: t(&f[2]),
            part_number: t(&f[3]),
            fru_file_id: t(&f[4]),
            custom: Fields::List(&custom),
        });
        let product = img.product.as_ref().map(|f| ProductInfo {
            language: 25,
            manufacturer: t(&f[0]),
            product_name: t(&f[1]),
            part_number: t(&f[2]),
            version: t(&f[3]),
            serial_number: t(&f[4]),
            asset_tag: t(&f[5]),
            fru_file_id: t(&f[6]),
            custom: Fields::EMPTY,
        });
        if let Some(c) = chassis { b = b.chassis(c); }
        if let Some(x) = board { b = b.board(x); }
        if let Some(p) = product { b = b.product(p); }
        let mut eeprom = vec![0xFFu8; 2048];
        let n = b.write(&mut eeprom).unwrap();
        let fru = Fru::parse(&eeprom[..n]).unwrap();
        prop_assert_eq!(fru.chassis().unwrap(), chassis);
        prop_assert_eq!(fru.board().unwrap(), board);
        prop_assert_eq!(fru.product().unwrap(), product);
        let got: Vec<MultiRecord> = fru.multi_records().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&got, &multi);
        match &img.internal {
            Some(i) => prop_assert!(fru.internal_use().unwrap().unwrap().starts_with(i)),
            None => prop_assert_eq!(fru.internal_use().unwrap(), None),
        }
        // A decoded area re-encodes to the same bytes.
        let mut b2 = Builder::new().multi_records(&multi);
        if let Some(i) = &img.internal { b2 = b2.internal_use(i); }
        if let Some(c) = fru.chassis().unwrap() { b2 = b2.chassis(c); }
        if let Some(x) = fru.board().unwrap() { b2 = b2.board(x); }
        if let Some(p) = fru.product().unwrap() { b2 = b2.product(p); }
        let mut again = vec![0xFFu8; 2048];
        let m = b2.write(&mut again).unwrap();
        prop_assert_eq!(&eeprom[..n], &again[..m]);
    }

    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&bytes);
    }

    #[test]
    fn parser_never_panics_on_corrupted_images(flip in proptest::collection::vec((0usize..200, any::<u8>()), 1..6)) {
        let mut eeprom = sample();
        for (i, v) in flip {
            if let Some(b) = eeprom.get_mut(i) { *b = v; }
        }
        exercise(&eeprom);
    }
}

fn exercise(bytes: &[u8]) {
    if let Ok(fru) = Fru::parse(bytes) {
        let _ = fru.internal_use();
        if let Ok(Some(c)) = fru.chassis() {
            let _ = (c.part_number.to_string(), c.custom.iter().count());
        }
        if let Ok(Some(b)) = fru.board() {
            let _ = (
                b.manufacturer.to_string(),
                b.mfg_unix_seconds(),
                b.custom.iter().count(),
            );
        }
        if let Ok(Some(p)) = fru.product() {
            let _ = (
                p.asset_tag.to_string(),
                p.custom.iter().map(|t| t.to_string().len()).sum::<usize>(),
            );
        }
        for r in fru.multi_records().take(100) {
            let _ = r;
        }
    }
}

fn sample() -> Vec<u8> {
    let custom = [
        Text::new("custom-1"),
        Text::with_encoding("42", TextEncoding::BcdPlus),
    ];
    let mr = [MultiRecord {
        record_type: 0x00,
        data: &[1, 2, 3],
    }];
    let mut eeprom = vec![0xFFu8; 256];
    let n = Builder::new()
        .internal_use(&[0xAA; 7])
        .chassis(ChassisInfo {
            chassis_type: 0x17,
            part_number: Text::new("CH-PN-1"),
            serial_number: Text::new("CH-SN-1"),
            custom: Fields::List(&custom),
        })
        .board(BoardInfo {
            language: 0,
            mfg_minutes: BoardInfo::minutes_from_unix(1_700_000_000),
            manufacturer: Text::new("wsbmc"),
            product_name: Text::new("Sim 1U mainboard"),
            serial_number: Text::new("BSN0001"),
            part_number: Text::new("BPN-42"),
            fru_file_id: Text::EMPTY,
            custom: Fields::EMPTY,
        })
        .product(ProductInfo {
            language: 0,
            manufacturer: Text::new("wsbmc"),
            product_name: Text::new("Sim 1U"),
            part_number: Text::new("P"),
            version: Text::new("1.0"),
            serial_number: Text::new("PSN0001"),
            asset_tag: Text::new("a"),
            fru_file_id: Text::new("sim.fru"),
            custom: Fields::EMPTY,
        })
        .multi_records(&mr)
        .write(&mut eeprom)
        .unwrap();
    eeprom.truncate(n);
    eeprom
}

#[test]
fn sample_image_layout() {
    let e = sample();
    // Header: version 1, offsets in 8-byte units, zero checksum.
    assert_eq!(e[0], 1);
    assert_eq!(e[1], 1); // internal use right after the header
    assert_eq!(e[2], 2); // 1 version byte + 7 data bytes = one block
    assert_eq!(e[..8].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
    let fru = Fru::parse(&e).unwrap();
    let c = fru.chassis().unwrap().unwrap();
    assert_eq!(c.chassis_type, 0x17);
    assert!(c.serial_number.eq_str("CH-SN-1"));
    let custom: Vec<String> = c.custom.iter().map(|t| t.to_string()).collect();
    assert_eq!(custom, ["custom-1", "42"]);
    let b = fru.board().unwrap().unwrap();
    assert_eq!(b.mfg_unix_seconds(), Some(1_700_000_000 / 60 * 60));
    assert!(b.product_name.eq_str("Sim 1U mainboard"));
    let p = fru.product().unwrap().unwrap();
    // One-character fields cannot use type/length C1h (the end marker); they still read back.
    assert!(p.part_number.eq_str("P"));
    assert!(p.asset_tag.eq_str("a"));
    assert_eq!(p.part_number.encoding(), TextEncoding::SixBitAscii);
    assert_eq!(fru.internal_use().unwrap().unwrap(), &[0xAA; 7]);
    let mr: Vec<_> = fru.multi_records().collect();
    assert_eq!(
        mr,
        vec![Ok(MultiRecord {
            record_type: 0,
            data: &[1, 2, 3]
        })]
    );
}

#[test]
fn corruption_is_reported_per_area() {
    let mut e = sample();
    let board = usize::from(e[3]) * 8;
    e[board + 8] ^= 0x01;
    let fru = Fru::parse(&e).unwrap();
    assert_eq!(fru.board(), Err(FruError::Checksum(Area::Board)));
    assert!(fru.chassis().unwrap().is_some());
    assert!(fru.product().unwrap().is_some());
    e[7] ^= 1;
    assert_eq!(
        Fru::parse(&e).unwrap_err(),
        FruError::Checksum(Area::Header)
    );
    assert_eq!(Fru::parse(&e[..5]).unwrap_err(), FruError::Truncated);
    let short = sample();
    let fru = Fru::parse(&short[..40]).unwrap();
    assert_eq!(fru.product(), Err(FruError::Truncated));
}

#[test]
fn non_english_areas_use_ucs2() {
    let mut eeprom = [0u8; 128];
    let n = Builder::new()
        .product(ProductInfo {
            language: 2, // French
            manufacturer: Text::new("Société"),
            product_name: Text::with_encoding("12", TextEncoding::BcdPlus),
            part_number: Text::EMPTY,
            version: Text::EMPTY,
            serial_number: Text::EMPTY,
            asset_tag: Text::EMPTY,
            fru_file_id: Text::EMPTY,
            custom: Fields::EMPTY,
        })
        .write(&mut eeprom)
        .unwrap();
    let p = Fru::parse(&eeprom[..n])
        .unwrap()
        .product()
        .unwrap()
        .unwrap();
    assert_eq!(p.manufacturer.encoding(), TextEncoding::Ucs2Le);
    assert!(p.manufacturer.eq_str("Société"));
    assert_eq!(p.manufacturer.raw().map(<[u8]>::len), Some(14));
}

#[test]
fn builder_errors() {
    let mut small = [0u8; 16];
    let board = BoardInfo {
        language: 0,
        mfg_minutes: 0,
        manufacturer: Text::new("a manufacturer name that is long"),
        product_name: Text::EMPTY,
        serial_number: Text::EMPTY,
        part_number: Text::EMPTY,
        fru_file_id: Text::EMPTY,
        custom: Fields::EMPTY,
    };
    assert_eq!(
        Builder::new().board(board).write(&mut small),
        Err(FruError::TooLarge)
    );
    let long = "x".repeat(64);
    let mut big = [0u8; 256];
    let board = BoardInfo {
        manufacturer: Text::new(&long),
        ..board
    };
    assert!(matches!(
        Builder::new().board(board).write(&mut big),
        Err(FruError::Field(_))
    ));
}
