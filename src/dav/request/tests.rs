use super::*;

/// The parsers with the default `[server]` limits.
fn limits() -> Limits {
    Limits::from(&ServerSettings::default())
}

fn parse_propfind(body: &[u8]) -> Result<Propfind, RequestError> {
    super::parse_propfind(body, &limits())
}

fn parse_proppatch(body: &[u8]) -> Result<Proppatch, RequestError> {
    super::parse_proppatch(body, &limits())
}

fn parse_report(body: &[u8]) -> Result<Report, RequestError> {
    super::parse_report(body, &limits())
}

fn dav(local: &str) -> QName {
    QName {
        ns: NS_DAV.into(),
        local: local.into(),
    }
}

#[test]
fn propfind_forms() {
    let body = br#"<?xml version="1.0"?>
        <propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/">
          <prop><resourcetype/><C:addressbook-home-set/><CS:getctag/><x:odd xmlns:x="urn:x"/></prop>
        </propfind>"#;
    let Ok(Propfind::Prop(names)) = parse_propfind(body) else {
        panic!("prop expected")
    };
    assert_eq!(names[0], dav("resourcetype"));
    assert_eq!(names[1].ns, NS_CARDDAV);
    assert_eq!(names[2].ns, NS_CS);
    assert_eq!(
        names[3],
        QName {
            ns: "urn:x".into(),
            local: "odd".into()
        }
    );
    assert_eq!(
        parse_propfind(br#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#),
        Ok(Propfind::PropName)
    );
    assert_eq!(
        parse_propfind(
            br#"<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:sync-token/></D:include></D:propfind>"#
        ),
        Ok(Propfind::AllProp {
            include: vec![dav("sync-token")]
        })
    );
}

#[test]
fn rejections() {
    let laughs = br#"<?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
        <D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol2;</D:displayname></D:prop></D:propfind>"#;
    assert_eq!(parse_propfind(laughs), Err(RequestError::Doctype));
    assert!(matches!(
        parse_propfind(br#"<D:propfind xmlns:D="DAV:"><X:prop/></D:propfind>"#),
        Err(RequestError::UnboundPrefix { .. })
    ));
    assert!(matches!(
        parse_propfind(br#"<D:propfind xmlns:D="DAV:"><D:prop>"#),
        Err(RequestError::Malformed { .. })
    ));
    assert!(matches!(
        parse_propfind(br#"<D:propfind xmlns:D="DAV:"><D:prop></D:propfind>"#),
        Err(RequestError::Malformed { .. })
    ));
    assert!(matches!(
        parse_propfind(br#"<D:multistatus xmlns:D="DAV:"/>"#),
        Err(RequestError::WrongRoot { .. })
    ));
    let deep = format!(
        "<D:propfind xmlns:D=\"DAV:\">{}{}</D:propfind>",
        "<D:a>".repeat(100),
        "</D:a>".repeat(100)
    );
    assert_eq!(
        parse_propfind(deep.as_bytes()),
        Err(RequestError::TooDeep(64))
    );
    assert_eq!(parse_propfind(b"\xff\xfe<"), Err(RequestError::NotUtf8));
    assert!(matches!(
        parse_propfind(b"this is not XML"),
        Err(RequestError::Malformed { .. })
    ));
    let bad_limit = br#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:limit><D:nresults>0</D:nresults></D:limit></D:sync-collection>"#;
    assert!(matches!(
        parse_report(bad_limit),
        Err(RequestError::Invalid(_))
    ));
    let bad_collation = br#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
        <C:filter><C:prop-filter name="FN"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:filter>
        </C:addressbook-query>"#;
    assert_eq!(
        parse_report(bad_collation),
        Err(RequestError::UnsupportedCollation("i;klingon".into()))
    );
}

#[test]
fn davx5_sync_collection() {
    let body = br#"<?xml version='1.0' encoding='UTF-8' ?><sync-collection xmlns="DAV:" xmlns:CARD="urn:ietf:params:xml:ns:carddav"><sync-token /><sync-level>1</sync-level><prop><getetag /><resourcetype /></prop></sync-collection>"#;
    let Ok(Report::SyncCollection(sync)) = parse_report(body) else {
        panic!("sync-collection expected")
    };
    assert_eq!(sync.token, "");
    assert_eq!(sync.level, "1");
    assert_eq!(sync.props, vec![dav("getetag"), dav("resourcetype")]);
    assert_eq!(sync.limit, None);
}

#[test]
fn thunderbird_multiget_with_entities_and_encoded_hrefs() {
    let body =
        br#"<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
        <d:prop><d:getetag/><card:address-data/></d:prop>
        <d:href>/addressbooks/a/b/x%20y.vcf</d:href>
        <d:href>/addressbooks/a/b/a&amp;b.vcf</d:href>
        </card:addressbook-multiget>"#;
    let Ok(Report::Multiget(get)) = parse_report(body) else {
        panic!("multiget expected")
    };
    assert_eq!(
        get.hrefs,
        vec!["/addressbooks/a/b/x%20y.vcf", "/addressbooks/a/b/a&b.vcf"]
    );
    assert_eq!(get.address_data, Some(AddressData::default()));
}

#[test]
fn evolution_query_and_address_data_forms() {
    let body = br#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
        <D:prop><D:getetag/><C:address-data><C:prop name="VERSION"/><C:prop name="uid"/></C:address-data></D:prop>
        </C:addressbook-query>"#;
    let Ok(Report::Query(query)) = parse_report(body) else {
        panic!("query expected")
    };
    assert!(query.filter.prop_filters.is_empty());
    assert_eq!(
        query.address_data.map(|ad| ad.props),
        Some(vec!["VERSION".to_string(), "UID".to_string()])
    );
    let v4 = br#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
        <D:prop><C:address-data content-type="text/vcard" version="4.0"><C:allprop/></C:address-data></D:prop>
        <C:filter test="allof"><C:prop-filter name="email"><C:text-match match-type="ends-with" negate-condition="yes">.org</C:text-match></C:prop-filter></C:filter>
        <C:limit><C:nresults>5</C:nresults></C:limit>
        </C:addressbook-query>"#;
    let Ok(Report::Query(query)) = parse_report(v4) else {
        panic!("query expected")
    };
    assert_eq!(query.limit, Some(5));
    assert_eq!(query.filter.test, Test::AllOf);
    let pf = &query.filter.prop_filters[0];
    assert_eq!(pf.name, "EMAIL");
    assert_eq!(pf.text_matches[0].match_type, MatchType::EndsWith);
    assert!(pf.text_matches[0].negate);
    assert_eq!(
        query.address_data.and_then(|ad| ad.version),
        Some("4.0".into())
    );
}

#[test]
fn large_multiget_is_one_pass() {
    let mut body = String::from(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop>"#,
    );
    for i in 0..100_000 {
        body.push_str(&format!("<D:href>/addressbooks/u/b/{i:032x}.vcf</D:href>"));
    }
    body.push_str("</C:addressbook-multiget>");
    let Ok(Report::Multiget(get)) = parse_report(body.as_bytes()) else {
        panic!("multiget expected")
    };
    assert_eq!(get.hrefs.len(), 100_000);
}

#[test]
fn proppatch_lists_every_property() {
    let body = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/">
        <D:set><D:prop><A:calendar-color>#ff0000</A:calendar-color><D:displayname>x</D:displayname></D:prop></D:set>
        <D:remove><D:prop><D:getetag/></D:prop></D:remove></D:propertyupdate>"#;
    let patch = parse_proppatch(body).expect("valid");
    assert_eq!(patch.props.len(), 3);
    assert_eq!(patch.props[1], dav("displayname"));
}

#[test]
fn address_data_props_are_distinct_and_capped() {
    let query = |n: usize| {
        let props: String = (0..n)
            .map(|i| format!(r#"<C:prop name="X-P{i}"/><C:prop name="fn"/>"#))
            .collect();
        format!(
            r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data>{props}</C:address-data></D:prop></C:addressbook-query>"#
        )
    };
    let Ok(Report::Query(q)) = parse_report(query(99).as_bytes()) else {
        panic!("query expected")
    };
    assert_eq!(q.address_data.map(|ad| ad.props.len()), Some(100));
    assert_eq!(
        parse_report(query(100).as_bytes()),
        Err(RequestError::TooManyProperties(100))
    );
}
