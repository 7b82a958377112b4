//! The People API's JSON as serde types: only the parts cardbridge reads, every field
//! optional (`default`), so a response missing or adding fields still parses. What they
//! mean for a card is decided in `mapping`.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldMetadata {
    pub primary: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PersonMetadata {
    pub deleted: bool,
    /// Names this person had before (a changed id, or contacts merged into this one); sent
    /// in sync responses. Records under these names are this person's past.
    pub previous_resource_names: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NameField {
    pub metadata: FieldMetadata,
    pub display_name: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub honorific_prefix: Option<String>,
    pub honorific_suffix: Option<String>,
    pub phonetic_family_name: Option<String>,
    pub phonetic_given_name: Option<String>,
    pub phonetic_middle_name: Option<String>,
    pub unstructured_name: Option<String>,
}

/// Emails, URLs, SIP addresses, nicknames, biographies: a value and maybe a type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValueField {
    pub metadata: FieldMetadata,
    pub value: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub formatted_type: Option<String>,
    /// Biographies: `TEXT_PLAIN` or `TEXT_HTML`.
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PhoneField {
    pub metadata: FieldMetadata,
    pub value: Option<String>,
    pub canonical_form: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub formatted_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AddressField {
    pub metadata: FieldMetadata,
    pub formatted_value: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub formatted_type: Option<String>,
    pub po_box: Option<String>,
    pub street_address: Option<String>,
    pub extended_address: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrganizationField {
    pub metadata: FieldMetadata,
    pub name: Option<String>,
    pub phonetic_name: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub job_description: Option<String>,
    pub current: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct GoogleDate {
    pub year: Option<i64>,
    pub month: Option<i64>,
    pub day: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DateField {
    pub metadata: FieldMetadata,
    pub date: Option<GoogleDate>,
    pub text: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PhotoField {
    pub metadata: FieldMetadata,
    pub url: Option<String>,
    /// Google's generated letter avatar, not a photo anyone chose.
    pub default: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupMembership {
    pub contact_group_resource_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Membership {
    pub contact_group_membership: Option<GroupMembership>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RelationField {
    pub person: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub formatted_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImClient {
    pub username: Option<String>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserDefined {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocationField {
    pub value: Option<String>,
    /// `desk`, `grewUp` or the user's own text.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub current: Option<bool>,
    pub building_id: Option<String>,
    pub floor: Option<String>,
    pub floor_section: Option<String>,
    pub desk_code: Option<String>,
}

/// One person as the People API returns it (only the parts cardbridge reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Person {
    pub resource_name: String,
    pub metadata: PersonMetadata,
    pub names: Vec<NameField>,
    pub nicknames: Vec<ValueField>,
    pub email_addresses: Vec<ValueField>,
    pub phone_numbers: Vec<PhoneField>,
    pub addresses: Vec<AddressField>,
    pub organizations: Vec<OrganizationField>,
    pub birthdays: Vec<DateField>,
    pub events: Vec<DateField>,
    pub urls: Vec<ValueField>,
    pub biographies: Vec<ValueField>,
    pub photos: Vec<PhotoField>,
    pub memberships: Vec<Membership>,
    pub relations: Vec<RelationField>,
    pub im_clients: Vec<ImClient>,
    pub sip_addresses: Vec<ValueField>,
    pub user_defined: Vec<UserDefined>,
    pub locations: Vec<LocationField>,
}
