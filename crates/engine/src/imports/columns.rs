//! A contacts file's header, and each row checked against it: the phone column (`phone`,
//! `number` or `phone number`, in any case) brought to E.164, `name`, `externalId`, `email`
//! and `timezone` checked, every other column kept as an attribute. A row's problems are
//! reported each with its column; a row with any problem is not applied.

use switchboard_core::{Attributes, Contact, Country, RowError, RowErrorCode, normalize_phone};
use switchboard_store::ImportRow;

use super::FileError;

/// The longest name or externalId, and the longest attribute value, in characters.
const MAX_TEXT: usize = 200;
const MAX_ATTRIBUTE: usize = 1000;

/// What a recognised column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Phone,
    Name,
    ExternalId,
    Email,
    Timezone,
}

impl Field {
    /// The column a header cell names, ignoring case, spaces, `_` and `-`.
    fn of(header: &str) -> Option<Field> {
        let key: String = header
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "phone" | "number" | "phonenumber" => Some(Field::Phone),
            "name" => Some(Field::Name),
            "externalid" => Some(Field::ExternalId),
            "email" => Some(Field::Email),
            "timezone" => Some(Field::Timezone),
            _ => None,
        }
    }
}

/// The columns of a contacts file, from its header.
#[derive(Debug, Clone)]
pub(super) struct Columns {
    /// Each column's header cell, trimmed.
    names: Vec<String>,
    /// Each column's meaning; `None`: an attribute (or, unnamed, ignored).
    fields: Vec<Option<Field>>,
}

impl Columns {
    /// Reads the header; refuses one without a phone column.
    pub(super) fn from_header(cells: &[&str]) -> Result<Self, FileError> {
        let names: Vec<String> = cells.iter().map(|cell| cell.trim().to_owned()).collect();
        let mut fields: Vec<Option<Field>> = Vec::with_capacity(names.len());
        for name in &names {
            // The first column of each meaning counts; a repeat is kept as an attribute.
            let field = Field::of(name).filter(|field| !fields.contains(&Some(*field)));
            fields.push(field);
        }
        if !fields.contains(&Some(Field::Phone)) {
            return Err(FileError::NoPhoneColumn {
                header: names.join(","),
            });
        }
        Ok(Self { names, fields })
    }

    /// The header cells, to store with the import and read again on resume.
    pub(super) fn names(&self) -> &[String] {
        &self.names
    }

    /// The row on `line`, or every problem it has.
    pub(super) fn row(
        &self,
        line: i64,
        cells: &[&str],
        country: Option<Country>,
    ) -> Result<ImportRow, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut fail = |column: &str, code: RowErrorCode, message: String| {
            errors.push(RowError {
                line,
                column: column.to_owned(),
                code,
                message,
            });
        };
        let extra = cells
            .iter()
            .skip(self.names.len())
            .any(|cell| !cell.trim().is_empty());
        if extra {
            fail(
                "",
                RowErrorCode::WrongFieldCount,
                format!(
                    "{} fields where the header has {}",
                    cells.len(),
                    self.names.len()
                ),
            );
        }
        let mut row = ImportRow {
            line,
            phone: String::new(),
            name: None,
            external_id: None,
            email: None,
            timezone: None,
            attributes: Attributes::new(),
        };
        for (index, name) in self.names.iter().enumerate() {
            let value = cells.get(index).map_or("", |cell| cell.trim());
            let field = self.fields[index];
            if value.is_empty() {
                if field == Some(Field::Phone) {
                    fail(
                        name,
                        RowErrorCode::MissingPhone,
                        "every row needs a phone".into(),
                    );
                }
                continue;
            }
            let too_long = |max: usize| value.chars().count() > max;
            match field {
                Some(Field::Phone) => match normalize_phone(value, country) {
                    Ok(phone) => row.phone = phone,
                    Err(error) => fail(name, RowErrorCode::InvalidPhone, error.message),
                },
                Some(Field::Name | Field::ExternalId) if too_long(MAX_TEXT) => fail(
                    name,
                    RowErrorCode::TooLong,
                    format!("must be at most {MAX_TEXT} characters"),
                ),
                Some(Field::Name) => row.name = Some(value.to_owned()),
                Some(Field::ExternalId) => row.external_id = Some(value.to_owned()),
                Some(Field::Email) => match Contact::validate_email(value) {
                    Ok(()) => row.email = Some(value.to_owned()),
                    Err(error) => fail(name, RowErrorCode::InvalidEmail, error.message),
                },
                Some(Field::Timezone) => match Contact::canonical_timezone(value) {
                    Ok(zone) => row.timezone = Some(zone.to_owned()),
                    Err(error) => fail(name, RowErrorCode::InvalidTimezone, error.message),
                },
                None if name.is_empty() => {}
                None if too_long(MAX_ATTRIBUTE) => fail(
                    name,
                    RowErrorCode::TooLong,
                    format!("must be at most {MAX_ATTRIBUTE} characters"),
                ),
                None => {
                    row.attributes.insert(name.clone(), value.to_owned());
                }
            }
        }
        if errors.is_empty() {
            Ok(row)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(header: &str) -> Result<Columns, FileError> {
        Columns::from_header(&header.split(',').collect::<Vec<_>>())
    }

    fn codes(columns: &Columns, row: &str) -> Vec<RowErrorCode> {
        let cells: Vec<&str> = row.split(',').collect();
        match columns.row(2, &cells, "US".parse().ok()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|error| error.code).collect(),
        }
    }

    #[test]
    fn headers_are_recognised_in_any_spelling() {
        for header in ["Phone", "NUMBER", "phone number", "Phone_Number"] {
            assert!(columns(&format!("name,{header}")).is_ok(), "{header}");
        }
        assert!(matches!(
            columns("name,email"),
            Err(FileError::NoPhoneColumn { .. })
        ));
    }

    #[test]
    fn each_rule_has_its_code() {
        let columns = columns("phone,name,External ID,e-mail,Time Zone,plan,").expect("header");
        let valid = columns
            .row(
                2,
                &[
                    "(415) 555-0100",
                    "Ada",
                    "crm-1",
                    "ada@example.com",
                    "europe/paris",
                    "gold",
                    "",
                ],
                "US".parse().ok(),
            )
            .expect("valid row");
        assert_eq!(valid.phone, "+14155550100");
        assert_eq!(valid.timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(
            valid.attributes.get("plan").map(String::as_str),
            Some("gold")
        );
        assert_eq!(valid.attributes.len(), 1, "the unnamed column is ignored");
        assert_eq!(codes(&columns, ",Ada,,,,"), [RowErrorCode::MissingPhone]);
        assert_eq!(
            codes(&columns, "+1 555 abc,Ada"),
            [RowErrorCode::InvalidPhone]
        );
        assert_eq!(
            codes(&columns, "+14155550100,,,not-an-email"),
            [RowErrorCode::InvalidEmail]
        );
        assert_eq!(
            codes(&columns, "+14155550100,,,,Mars/Olympus"),
            [RowErrorCode::InvalidTimezone]
        );
        assert_eq!(
            codes(&columns, &format!("+14155550100,{}", "x".repeat(201))),
            [RowErrorCode::TooLong]
        );
        assert_eq!(
            codes(&columns, "+14155550100,,,,,,,surplus"),
            [RowErrorCode::WrongFieldCount]
        );
    }
}
