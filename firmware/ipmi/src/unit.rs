//! IPMI sensor unit type codes (IPMI 2.0 table 43-15) and their CIM equivalents
//! (`reference/cim.md` §2.4).

use crate::cim::{BaseUnits, CimUnits, RateUnits};
use crate::names::{Packed, total_len};

/// An IPMI unit type byte (SDR Units 2 / Units 3). A newtype so codes beyond the table survive a
/// decode/encode round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unit(pub u8);

struct Entry {
    code: u8,
    name: &'static str,
    cim: CimUnits,
}

/// One line per IPMI code: constant, IPMI name, CIM base unit and the power of ten CIM needs on
/// top. Generating the constants and the lookup table from the same lines keeps them from
/// drifting apart.
macro_rules! units {
    ($($code:literal $konst:ident $name:literal => $base:ident $modifier:literal;)*) => {
        impl Unit {
            $(pub const $konst: Unit = Unit($code);)*
        }
        const TABLE: &[Entry] = &[
            $(Entry {
                code: $code,
                name: $name,
                cim: CimUnits { base_units: BaseUnits::$base, modifier: $modifier },
            },)*
        ];
    };
}

units! {
    0 UNSPECIFIED "unspecified" => UNKNOWN 0;
    1 DEGREES_C "degrees C" => DEGREES_C 0;
    2 DEGREES_F "degrees F" => DEGREES_F 0;
    3 DEGREES_K "degrees K" => DEGREES_K 0;
    4 VOLTS "Volts" => VOLTS 0;
    5 AMPS "Amps" => AMPS 0;
    6 WATTS "Watts" => WATTS 0;
    7 JOULES "Joules" => JOULES 0;
    8 COULOMBS "Coulombs" => COULOMBS 0;
    9 VA "VA" => VA 0;
    10 NITS "Nits" => NITS 0;
    11 LUMEN "lumen" => LUMENS 0;
    12 LUX "lux" => LUX 0;
    13 CANDELA "Candela" => CANDELAS 0;
    14 KPA "kPa" => KPA 0;
    15 PSI "PSI" => PSI 0;
    16 NEWTON "Newton" => NEWTONS 0;
    17 CFM "CFM" => CFM 0;
    18 RPM "RPM" => RPM 0;
    19 HZ "Hz" => HERTZ 0;
    20 MICROSECOND "microsecond" => SECONDS -6;
    21 MILLISECOND "millisecond" => SECONDS -3;
    22 SECOND "second" => SECONDS 0;
    23 MINUTE "minute" => MINUTES 0;
    24 HOUR "hour" => HOURS 0;
    25 DAY "day" => DAYS 0;
    26 WEEK "week" => WEEKS 0;
    27 MIL "mil" => MILS 0;
    28 INCHES "inches" => INCHES 0;
    29 FEET "feet" => FEET 0;
    30 CUBIC_INCHES "cu in" => CUBIC_INCHES 0;
    31 CUBIC_FEET "cu feet" => CUBIC_FEET 0;
    32 MM "mm" => METERS -3;
    33 CM "cm" => METERS -2;
    34 M "m" => METERS 0;
    35 CUBIC_CM "cu cm" => CUBIC_CENTIMETERS 0;
    36 CUBIC_M "cu m" => CUBIC_METERS 0;
    37 LITERS "liters" => LITERS 0;
    38 FLUID_OUNCE "fluid ounce" => FLUID_OUNCES 0;
    39 RADIANS "radians" => RADIANS 0;
    40 STERADIANS "steradians" => STERADIANS 0;
    41 REVOLUTIONS "revolutions" => REVOLUTIONS 0;
    42 CYCLES "cycles" => CYCLES 0;
    43 GRAVITIES "gravities" => GRAVITIES 0;
    44 OUNCE "ounce" => OUNCES 0;
    45 POUND "pound" => POUNDS 0;
    46 FT_LB "ft-lb" => FOOT_POUNDS 0;
    47 OZ_IN "oz-in" => OUNCE_INCHES 0;
    48 GAUSS "gauss" => GAUSS 0;
    49 GILBERTS "gilberts" => GILBERTS 0;
    50 HENRY "henry" => HENRIES 0;
    51 MILLIHENRY "millihenry" => HENRIES -3;
    52 FARAD "farad" => FARADS 0;
    53 MICROFARAD "microfarad" => FARADS -6;
    54 OHMS "ohms" => OHMS 0;
    55 SIEMENS "siemens" => SIEMENS 0;
    56 MOLE "mole" => MOLES 0;
    57 BECQUEREL "becquerel" => BECQUERELS 0;
    58 PPM "PPM" => PPM 0;
    59 RESERVED "reserved" => UNKNOWN 0;
    60 DECIBELS "Decibels" => DECIBELS 0;
    61 DBA "DbA" => DBA 0;
    62 DBC "DbC" => DBC 0;
    63 GRAY "gray" => GRAYS 0;
    64 SIEVERT "sievert" => SIEVERTS 0;
    65 COLOR_TEMP_K "color temp deg K" => COLOR_TEMPERATURE_K 0;
    66 BIT "bit" => BITS 0;
    67 KILOBIT "kilobit" => BITS 3;
    68 MEGABIT "megabit" => BITS 6;
    69 GIGABIT "gigabit" => BITS 9;
    // IPMI does not say whether kilo means 10^3 or 2^10 here; CIM modifiers are powers of ten,
    // so the decimal reading is the only one CIM can carry.
    70 BYTE "byte" => BYTES 0;
    71 KILOBYTE "kilobyte" => BYTES 3;
    72 MEGABYTE "megabyte" => BYTES 6;
    73 GIGABYTE "gigabyte" => BYTES 9;
    74 WORD "word" => WORDS 0;
    75 DWORD "dword" => DOUBLE_WORDS 0;
    76 QWORD "qword" => QUAD_WORDS 0;
    77 LINE "line" => OTHER 0;
    78 HIT "hit" => OTHER 0;
    79 MISS "miss" => OTHER 0;
    80 RETRY "retry" => OTHER 0;
    81 RESET "reset" => OTHER 0;
    82 OVERRUN "overrun / overflow" => OTHER 0;
    83 UNDERRUN "underrun" => OTHER 0;
    84 COLLISION "collision" => OTHER 0;
    85 PACKETS "packets" => OTHER 0;
    86 MESSAGES "messages" => OTHER 0;
    87 CHARACTERS "characters" => OTHER 0;
    88 ERROR "error" => OTHER 0;
    89 CORRECTABLE_ERROR "correctable error" => OTHER 0;
    90 UNCORRECTABLE_ERROR "uncorrectable error" => OTHER 0;
    91 FATAL_ERROR "fatal error" => OTHER 0;
    92 GRAMS "grams" => OTHER 0;
}

// The table is indexed by code; a line out of order would silently shift every unit after it.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(TABLE[i].code as usize == i);
        i += 1;
    }
};

/// How many codes table 43-15 has.
const COUNT: usize = TABLE.len();

const fn names() -> [&'static str; COUNT] {
    let mut out = [""; COUNT];
    let mut i = 0;
    while i < COUNT {
        out[i] = TABLE[i].name;
        i += 1;
    }
    out
}

/// `TABLE`'s names and CIM units in the form the image keeps (`TABLE` is only read by the
/// compiler): the names packed (`crate::names`), the units in a plain array, 3 bytes a code
/// instead of a 16-byte `Entry`.
static NAMES: Packed<COUNT, { total_len(&names()) }> = Packed::new(&names());
static CIM: [CimUnits; COUNT] = {
    let mut out = [CimUnits {
        base_units: BaseUnits::UNKNOWN,
        modifier: 0,
    }; COUNT];
    let mut i = 0;
    while i < COUNT {
        out[i] = TABLE[i].cim;
        i += 1;
    }
    out
};

impl Unit {
    /// The IPMI name, or `None` for codes past the end of table 43-15.
    pub const fn name(self) -> Option<&'static str> {
        NAMES.get(self.0 as usize)
    }

    /// CIM BaseUnits and the extra UnitModifier this unit needs. Codes past the end of the table
    /// are Unknown rather than an error: a console can still show the number.
    pub const fn cim(self) -> CimUnits {
        if (self.0 as usize) < COUNT {
            CIM[self.0 as usize]
        } else {
            CimUnits {
                base_units: BaseUnits::UNKNOWN,
                modifier: 0,
            }
        }
    }
}

/// The rate unit of SDR Units 1 bits 5:3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RateUnit(pub u8);

impl RateUnit {
    pub const NONE: Self = Self(0);
    pub const PER_MICROSECOND: Self = Self(1);
    pub const PER_MILLISECOND: Self = Self(2);
    pub const PER_SECOND: Self = Self(3);
    pub const PER_MINUTE: Self = Self(4);
    pub const PER_HOUR: Self = Self(5);
    pub const PER_DAY: Self = Self(6);

    /// CIM RateUnits: IPMI 0..=6 coincide with CIM's numbering; 7 is reserved in IPMI and has no
    /// meaning to carry, so it becomes None.
    pub const fn cim(self) -> RateUnits {
        if self.0 <= 6 {
            RateUnits(self.0 as u16)
        } else {
            RateUnits::NONE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_code_of_43_15() {
        assert_eq!(TABLE.len(), 93);
        assert_eq!(Unit::GRAMS.0, 92);
        assert_eq!(Unit(93).name(), None);
        assert_eq!(Unit(255).cim().base_units, BaseUnits::UNKNOWN);
    }

    #[test]
    fn common_units() {
        assert_eq!(
            Unit::DEGREES_C.cim(),
            CimUnits {
                base_units: BaseUnits(2),
                modifier: 0
            }
        );
        assert_eq!(Unit::VOLTS.cim().base_units, BaseUnits(5));
        assert_eq!(Unit::AMPS.cim().base_units, BaseUnits(6));
        assert_eq!(Unit::WATTS.cim().base_units, BaseUnits(7));
        assert_eq!(Unit::JOULES.cim().base_units, BaseUnits(8));
        assert_eq!(Unit::RPM.cim().base_units, BaseUnits(19));
        assert_eq!(Unit::RPM.name(), Some("RPM"));
        assert_eq!(Unit::DEGREES_C.name(), Some("degrees C"));
    }

    #[test]
    fn units_cim_lacks_carry_a_modifier() {
        assert_eq!(
            Unit::MICROSECOND.cim(),
            CimUnits {
                base_units: BaseUnits::SECONDS,
                modifier: -6
            }
        );
        assert_eq!(
            Unit::MILLISECOND.cim(),
            CimUnits {
                base_units: BaseUnits::SECONDS,
                modifier: -3
            }
        );
        assert_eq!(
            Unit::MM.cim(),
            CimUnits {
                base_units: BaseUnits::METERS,
                modifier: -3
            }
        );
        assert_eq!(
            Unit::CM.cim(),
            CimUnits {
                base_units: BaseUnits::METERS,
                modifier: -2
            }
        );
        assert_eq!(
            Unit::MILLIHENRY.cim(),
            CimUnits {
                base_units: BaseUnits::HENRIES,
                modifier: -3
            }
        );
        assert_eq!(
            Unit::MICROFARAD.cim(),
            CimUnits {
                base_units: BaseUnits::FARADS,
                modifier: -6
            }
        );
        assert_eq!(
            Unit::GIGABIT.cim(),
            CimUnits {
                base_units: BaseUnits::BITS,
                modifier: 9
            }
        );
        assert_eq!(
            Unit::KILOBYTE.cim(),
            CimUnits {
                base_units: BaseUnits::BYTES,
                modifier: 3
            }
        );
    }

    #[test]
    fn counters_have_no_cim_unit() {
        for code in 77..=92 {
            assert_eq!(Unit(code).cim().base_units, BaseUnits::OTHER, "{code}");
        }
        assert_eq!(Unit::RESERVED.cim().base_units, BaseUnits::UNKNOWN);
    }

    #[test]
    fn base_units_stay_in_the_cim_2_9_range() {
        // Pascals (66) is 2.42-only; IPMI kPa maps to CIM kPa, so nothing should need it.
        for code in 0..=u8::MAX {
            assert!(Unit(code).cim().base_units.0 <= 65);
        }
    }

    #[test]
    fn rate_units() {
        assert_eq!(RateUnit::NONE.cim(), RateUnits::NONE);
        assert_eq!(RateUnit::PER_SECOND.cim(), RateUnits::PER_SECOND);
        assert_eq!(RateUnit::PER_DAY.cim(), RateUnits::PER_DAY);
        assert_eq!(RateUnit(7).cim(), RateUnits::NONE);
    }
}
