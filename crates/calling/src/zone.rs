//! The time zone a recipient is called in: their contact's zone when it is known, else the zone
//! of their number's country when that country keeps one time everywhere, else the campaign's.
//!
//! Countries are found by the longest calling-code prefix of the E.164 digits. Codes shared by
//! several countries (`+1`, `+7`) and countries that span zones (Brazil, Mexico, Australia,
//! Indonesia, Chile, Spain with the Canaries, Portugal with the Azores, New Zealand with the
//! Chathams) are absent, so they fall back to the campaign's zone. A longer prefix may override
//! its country with `None` where one region keeps another time.

use jiff::tz::TimeZone;

/// Calling-code prefixes (digits after `+`) and the one IANA zone of the place they reach;
/// `None` marks a region whose time differs from the rest of its code.
const PREFIX_ZONES: &[(&str, Option<&str>)] = &[
    // Europe
    ("30", Some("Europe/Athens")),
    ("31", Some("Europe/Amsterdam")),
    ("32", Some("Europe/Brussels")),
    ("33", Some("Europe/Paris")),
    ("353", Some("Europe/Dublin")),
    ("354", Some("Atlantic/Reykjavik")),
    ("355", Some("Europe/Tirane")),
    ("356", Some("Europe/Malta")),
    ("358", Some("Europe/Helsinki")),
    ("359", Some("Europe/Sofia")),
    ("36", Some("Europe/Budapest")),
    ("370", Some("Europe/Vilnius")),
    ("371", Some("Europe/Riga")),
    ("372", Some("Europe/Tallinn")),
    ("373", Some("Europe/Chisinau")),
    ("375", Some("Europe/Minsk")),
    ("381", Some("Europe/Belgrade")),
    ("382", Some("Europe/Podgorica")),
    ("385", Some("Europe/Zagreb")),
    ("386", Some("Europe/Ljubljana")),
    ("387", Some("Europe/Sarajevo")),
    ("389", Some("Europe/Skopje")),
    ("39", Some("Europe/Rome")),
    ("40", Some("Europe/Bucharest")),
    ("41", Some("Europe/Zurich")),
    ("420", Some("Europe/Prague")),
    ("421", Some("Europe/Bratislava")),
    ("43", Some("Europe/Vienna")),
    ("44", Some("Europe/London")),
    ("45", Some("Europe/Copenhagen")),
    ("46", Some("Europe/Stockholm")),
    ("47", Some("Europe/Oslo")),
    ("48", Some("Europe/Warsaw")),
    ("49", Some("Europe/Berlin")),
    ("90", Some("Europe/Istanbul")),
    // Northern Cyprus is reached through Turkey's code but keeps Cyprus' time.
    ("90392", None),
    // Africa
    ("20", Some("Africa/Cairo")),
    ("212", Some("Africa/Casablanca")),
    ("213", Some("Africa/Algiers")),
    ("216", Some("Africa/Tunis")),
    ("218", Some("Africa/Tripoli")),
    ("221", Some("Africa/Dakar")),
    ("225", Some("Africa/Abidjan")),
    ("233", Some("Africa/Accra")),
    ("234", Some("Africa/Lagos")),
    ("237", Some("Africa/Douala")),
    ("244", Some("Africa/Luanda")),
    ("249", Some("Africa/Khartoum")),
    ("250", Some("Africa/Kigali")),
    ("251", Some("Africa/Addis_Ababa")),
    ("254", Some("Africa/Nairobi")),
    ("255", Some("Africa/Dar_es_Salaam")),
    ("256", Some("Africa/Kampala")),
    ("258", Some("Africa/Maputo")),
    ("260", Some("Africa/Lusaka")),
    ("263", Some("Africa/Harare")),
    ("27", Some("Africa/Johannesburg")),
    // Asia
    ("60", Some("Asia/Kuala_Lumpur")),
    ("63", Some("Asia/Manila")),
    ("65", Some("Asia/Singapore")),
    ("66", Some("Asia/Bangkok")),
    ("673", Some("Asia/Brunei")),
    ("81", Some("Asia/Tokyo")),
    ("82", Some("Asia/Seoul")),
    ("84", Some("Asia/Ho_Chi_Minh")),
    ("852", Some("Asia/Hong_Kong")),
    ("853", Some("Asia/Macau")),
    ("855", Some("Asia/Phnom_Penh")),
    ("856", Some("Asia/Vientiane")),
    ("86", Some("Asia/Shanghai")),
    ("880", Some("Asia/Dhaka")),
    ("886", Some("Asia/Taipei")),
    ("91", Some("Asia/Kolkata")),
    ("92", Some("Asia/Karachi")),
    ("93", Some("Asia/Kabul")),
    ("94", Some("Asia/Colombo")),
    ("95", Some("Asia/Yangon")),
    ("961", Some("Asia/Beirut")),
    ("962", Some("Asia/Amman")),
    ("963", Some("Asia/Damascus")),
    ("964", Some("Asia/Baghdad")),
    ("965", Some("Asia/Kuwait")),
    ("966", Some("Asia/Riyadh")),
    ("967", Some("Asia/Aden")),
    ("968", Some("Asia/Muscat")),
    ("971", Some("Asia/Dubai")),
    ("972", Some("Asia/Jerusalem")),
    ("973", Some("Asia/Bahrain")),
    ("974", Some("Asia/Qatar")),
    ("977", Some("Asia/Kathmandu")),
    ("98", Some("Asia/Tehran")),
    ("994", Some("Asia/Baku")),
    ("995", Some("Asia/Tbilisi")),
    ("374", Some("Asia/Yerevan")),
    // The Americas (outside the shared +1)
    ("502", Some("America/Guatemala")),
    ("503", Some("America/El_Salvador")),
    ("504", Some("America/Tegucigalpa")),
    ("505", Some("America/Managua")),
    ("506", Some("America/Costa_Rica")),
    ("507", Some("America/Panama")),
    ("51", Some("America/Lima")),
    ("53", Some("America/Havana")),
    ("54", Some("America/Argentina/Buenos_Aires")),
    ("57", Some("America/Bogota")),
    ("58", Some("America/Caracas")),
    ("591", Some("America/La_Paz")),
    ("595", Some("America/Asuncion")),
    ("598", Some("America/Montevideo")),
];

/// The one IANA zone of the country (or region) an E.164 number (`+442079460958`) reaches, found
/// by the longest matching calling-code prefix; `None` when its code is shared or spans zones,
/// or the text is not `+` and digits.
pub fn single_zone_of_number(phone: &str) -> Option<&'static str> {
    let digits = phone.trim().strip_prefix('+')?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    PREFIX_ZONES
        .iter()
        .filter(|(prefix, _)| digits.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .and_then(|(_, zone)| *zone)
}

/// The name of the zone to call a recipient in (what a call keeps): `contact_timezone` when set
/// and a known IANA name, else the single zone of `phone`'s country, else `campaign_timezone`
/// (`UTC` if that is not known either).
pub fn recipient_zone_name<'a>(
    contact_timezone: Option<&'a str>,
    phone: &str,
    campaign_timezone: &'a str,
) -> &'a str {
    let known = |name: &&str| !name.is_empty() && TimeZone::get(name).is_ok();
    contact_timezone
        .map(str::trim)
        .filter(known)
        .or_else(|| single_zone_of_number(phone).filter(known))
        .or_else(|| Some(campaign_timezone.trim()).filter(known))
        .unwrap_or("UTC")
}

/// The zone [`recipient_zone_name`] names.
pub fn recipient_zone(
    contact_timezone: Option<&str>,
    phone: &str,
    campaign_timezone: &str,
) -> TimeZone {
    TimeZone::get(recipient_zone_name(
        contact_timezone,
        phone,
        campaign_timezone,
    ))
    .unwrap_or(TimeZone::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_zone_countries_are_found_by_their_code() {
        assert_eq!(
            single_zone_of_number("+442079460958"),
            Some("Europe/London")
        );
        assert_eq!(single_zone_of_number("+919876543210"), Some("Asia/Kolkata"));
        assert_eq!(
            single_zone_of_number("+353861234567"),
            Some("Europe/Dublin")
        );
        assert_eq!(
            single_zone_of_number("+4915112345678"),
            Some("Europe/Berlin")
        );
        assert_eq!(
            single_zone_of_number("+5491123456789"),
            Some("America/Argentina/Buenos_Aires")
        );
    }

    #[test]
    fn shared_and_multi_zone_codes_have_no_zone() {
        for phone in [
            "+12125550123",   // NANP: the US, Canada and the Caribbean
            "+74951234567",   // Russia and Kazakhstan
            "+5511987654321", // Brazil
            "+525512345678",  // Mexico
            "+61212345678",   // Australia
            "+6281234567890", // Indonesia
            "+56912345678",   // Chile, with Easter Island
            "+34912345678",   // Spain, with the Canaries
            "+351912345678",  // Portugal, with the Azores
            "+6421234567",    // New Zealand, with the Chathams
            "+380441234567",  // Ukraine, with Crimea on Moscow time
        ] {
            assert_eq!(single_zone_of_number(phone), None, "{phone}");
        }
    }

    #[test]
    fn the_longest_prefix_wins() {
        assert_eq!(
            single_zone_of_number("+905321234567"),
            Some("Europe/Istanbul")
        );
        assert_eq!(single_zone_of_number("+903922281234"), None);
        // +353 (Ireland) must not be read as +35 or +3.
        assert_eq!(single_zone_of_number("+35312345678"), Some("Europe/Dublin"));
    }

    #[test]
    fn text_that_is_not_e164_has_no_zone() {
        for phone in ["", "+", "442079460958", "+44 20 7946 0958", "+44abc"] {
            assert_eq!(single_zone_of_number(phone), None, "{phone:?}");
        }
    }

    #[test]
    fn the_table_names_known_zones_and_each_prefix_once() {
        let mut prefixes = std::collections::HashSet::new();
        for (prefix, zone) in PREFIX_ZONES {
            assert!(prefix.bytes().all(|byte| byte.is_ascii_digit()), "{prefix}");
            assert!(prefixes.insert(*prefix), "{prefix} twice");
            if let Some(zone) = zone {
                assert!(
                    TimeZone::get(zone).is_ok(),
                    "{zone} is not in the tz database"
                );
            }
        }
    }

    #[test]
    fn the_contacts_zone_comes_first() {
        let zone = recipient_zone(Some("Asia/Tokyo"), "+442079460958", "America/New_York");
        assert_eq!(zone.iana_name(), Some("Asia/Tokyo"));
    }

    #[test]
    fn an_unknown_or_empty_contact_zone_falls_back_to_the_number() {
        for contact in [None, Some(""), Some("  "), Some("Mars/Olympus_Mons")] {
            let zone = recipient_zone(contact, "+442079460958", "America/New_York");
            assert_eq!(zone.iana_name(), Some("Europe/London"), "{contact:?}");
        }
    }

    #[test]
    fn a_multi_zone_number_falls_back_to_the_campaign() {
        let zone = recipient_zone(None, "+13125550123", "America/Chicago");
        assert_eq!(zone.iana_name(), Some("America/Chicago"));
    }

    #[test]
    fn an_unknown_campaign_zone_falls_back_to_utc() {
        let zone = recipient_zone(None, "+13125550123", "Nowhere/Special");
        assert_eq!(zone, TimeZone::UTC);
    }
}
