//! The index schema: a validated model of `docsearch.v1.IndexSchema` and its RediSearch FT.CREATE form.

use docsearch_proto::v1 as pb;

use crate::validate::{InvalidValue, quote};

/// Maximum number of fields in a schema.
pub const MAX_FIELDS: usize = 128;
/// Maximum vector dimension (RediSearch 2.10 accepts larger, but no embedding model needs more).
pub const MAX_DIMENSION: usize = 32_768;
/// Maximum length of a field name.
pub const MAX_FIELD_NAME_LEN: usize = 64;
/// Separator of TAG values when the schema leaves it empty.
pub const DEFAULT_TAG_SEPARATOR: char = ',';

/// A validated index schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    fields: Vec<Field>,
}

/// One indexed field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// Documents without the field are indexed, so that a missing-field filter can match them.
    pub index_missing: bool,
    pub kind: FieldKind,
}

/// The type of a field and its options.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text(TextOptions),
    Tag(TagOptions),
    Numeric(NumericOptions),
    Geo,
    Vector(VectorOptions),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextOptions {
    /// Scoring weight; 1.0 is the RediSearch default.
    pub weight: f64,
    pub no_stem: bool,
    pub sortable: bool,
    /// Values feed the index's suggestion dictionary.
    pub suggest: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TagOptions {
    pub separator: char,
    pub case_sensitive: bool,
    pub sortable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumericOptions {
    pub sortable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VectorOptions {
    pub algorithm: VectorAlgorithm,
    pub dimension: usize,
    pub metric: DistanceMetric,
    /// HNSW parameters; 0 keeps the RediSearch default.
    pub m: u32,
    pub ef_construction: u32,
    pub ef_runtime: u32,
    /// The embedding model that produced the vectors; empty when unknown.
    pub model: String,
    /// TEXT fields embedded, joined in this order, when a document arrives without the vector.
    pub embedding_source_fields: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorAlgorithm {
    Flat,
    Hnsw,
}

/// A vector distance metric with RediSearch's definitions of distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceMetric {
    /// 1 - cosine similarity.
    Cosine,
    /// Squared Euclidean distance.
    L2,
    /// 1 - inner product.
    InnerProduct,
}

impl DistanceMetric {
    /// The name FT.CREATE takes.
    pub fn redis_name(self) -> &'static str {
        match self {
            DistanceMetric::Cosine => "COSINE",
            DistanceMetric::L2 => "L2",
            DistanceMetric::InnerProduct => "IP",
        }
    }

    /// Converts a distance to a similarity where higher is closer: 1 - distance for COSINE and IP
    /// (the cosine similarity and the inner product), 1 / (1 + distance) for L2.
    pub fn similarity(self, distance: f32) -> f32 {
        match self {
            DistanceMetric::Cosine | DistanceMetric::InnerProduct => 1.0 - distance,
            DistanceMetric::L2 => 1.0 / (1.0 + distance.max(0.0)),
        }
    }

    /// Maps a distance to [0, 1], higher is closer, for combining with other scores:
    /// COSINE 1 - d/2, L2 1/(1+d), IP (1 + clamp(1 - d, -1, 1)) / 2.
    pub fn normalized_similarity(self, distance: f32) -> f64 {
        let distance = f64::from(distance);
        match self {
            DistanceMetric::Cosine => (1.0 - distance / 2.0).clamp(0.0, 1.0),
            DistanceMetric::L2 => 1.0 / (1.0 + distance.max(0.0)),
            DistanceMetric::InnerProduct => (1.0 + (1.0 - distance).clamp(-1.0, 1.0)) / 2.0,
        }
    }

    pub fn to_proto(self) -> pb::DistanceMetric {
        match self {
            DistanceMetric::Cosine => pb::DistanceMetric::Cosine,
            DistanceMetric::L2 => pb::DistanceMetric::L2,
            DistanceMetric::InnerProduct => pb::DistanceMetric::Ip,
        }
    }
}

impl Field {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            FieldKind::Text(_) => "TEXT",
            FieldKind::Tag(_) => "TAG",
            FieldKind::Numeric(_) => "NUMERIC",
            FieldKind::Geo => "GEO",
            FieldKind::Vector(_) => "VECTOR",
        }
    }

    pub fn is_sortable(&self) -> bool {
        match &self.kind {
            FieldKind::Text(text) => text.sortable,
            FieldKind::Tag(tag) => tag.sortable,
            FieldKind::Numeric(numeric) => numeric.sortable,
            FieldKind::Geo | FieldKind::Vector(_) => false,
        }
    }
}

impl Schema {
    /// Validates a schema from the wire. Errors name the offending field by path, such as
    /// `fields[2].vector.dimension`.
    pub fn from_proto(schema: &pb::IndexSchema) -> Result<Self, InvalidValue> {
        if schema.fields.is_empty() {
            return Err(InvalidValue::new(
                "fields",
                "the schema has no fields; add at least one TEXT, TAG, NUMERIC, GEO or VECTOR field",
            ));
        }
        if schema.fields.len() > MAX_FIELDS {
            return Err(InvalidValue::new(
                "fields",
                format!(
                    "the schema has {} fields; use at most {MAX_FIELDS}",
                    schema.fields.len()
                ),
            ));
        }

        let mut fields: Vec<Field> = Vec::with_capacity(schema.fields.len());
        for (position, field) in schema.fields.iter().enumerate() {
            let parsed =
                parse_field(field).map_err(|error| error.within(&format!("fields[{position}]")))?;
            if fields.iter().any(|existing| existing.name == parsed.name) {
                return Err(InvalidValue::new(
                    format!("fields[{position}].name"),
                    format!(
                        "{} is defined twice; field names must be unique",
                        quote(&parsed.name)
                    ),
                ));
            }
            fields.push(parsed);
        }

        let parsed = Self { fields };
        parsed.check_cross_field_rules()?;
        Ok(parsed)
    }

    /// Converts back to the wire form; `from_proto(to_proto(s)) == s`.
    pub fn to_proto(&self) -> pb::IndexSchema {
        pb::IndexSchema {
            fields: self.fields.iter().map(field_to_proto).collect(),
        }
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The VECTOR fields with their options.
    pub fn vector_fields(&self) -> impl Iterator<Item = (&Field, &VectorOptions)> {
        self.fields.iter().filter_map(|field| match &field.kind {
            FieldKind::Vector(options) => Some((field, options)),
            _ => None,
        })
    }

    /// The TEXT fields with their options.
    pub fn text_fields(&self) -> impl Iterator<Item = (&Field, &TextOptions)> {
        self.fields.iter().filter_map(|field| match &field.kind {
            FieldKind::Text(options) => Some((field, options)),
            _ => None,
        })
    }

    /// The TEXT field whose values feed the suggestion dictionary, if any.
    pub fn suggest_field(&self) -> Option<&Field> {
        self.text_fields()
            .find(|(_, options)| options.suggest)
            .map(|(field, _)| field)
    }

    /// Resolves the VECTOR field a query names; an empty name means the index's only VECTOR field.
    pub fn resolve_vector_field(
        &self,
        name: &str,
    ) -> Result<(&Field, &VectorOptions), InvalidValue> {
        if name.is_empty() {
            let mut vector_fields = self.vector_fields();
            return match (vector_fields.next(), vector_fields.next()) {
                (Some(only), None) => Ok(only),
                (None, _) => Err(InvalidValue::new(
                    "vector_options.field",
                    "the index has no VECTOR field, so it supports only full-text search; use mode TEXT",
                )),
                (Some(_), Some(_)) => Err(InvalidValue::new(
                    "vector_options.field",
                    format!(
                        "the index has several VECTOR fields ({}); name one",
                        self.vector_fields()
                            .map(|(field, _)| field.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            };
        }
        match self.field(name) {
            Some(Field {
                kind: FieldKind::Vector(options),
                ..
            }) => Ok((self.field(name).expect("field was just found"), options)),
            Some(other) => Err(InvalidValue::new(
                "vector_options.field",
                format!(
                    "{} is a {} field, not a VECTOR field",
                    quote(name),
                    other.type_name()
                ),
            )),
            None => Err(InvalidValue::new(
                "vector_options.field",
                format!("{} is not a field of the index", quote(name)),
            )),
        }
    }

    /// Records `model` on every VECTOR field that embeds from source fields and names no model yet, so
    /// that the index states which model built it.
    pub fn record_embedding_model(&mut self, model: &str) {
        for field in &mut self.fields {
            if let FieldKind::Vector(options) = &mut field.kind
                && !options.embedding_source_fields.is_empty()
                && options.model.is_empty()
            {
                options.model = model.to_owned();
            }
        }
    }

    /// Builds `FT.CREATE` for this schema over the hashes under `key_prefix`.
    pub fn create_command(&self, search_index: &str, key_prefix: &str) -> redis::Cmd {
        let mut command = redis::cmd("FT.CREATE");
        command
            .arg(search_index)
            .arg("ON")
            .arg("HASH")
            .arg("PREFIX")
            .arg(1)
            .arg(key_prefix)
            .arg("SCHEMA");
        for field in &self.fields {
            append_field_arguments(&mut command, field);
        }
        command
    }

    fn check_cross_field_rules(&self) -> Result<(), InvalidValue> {
        let suggest_fields: Vec<&str> = self
            .text_fields()
            .filter(|(_, options)| options.suggest)
            .map(|(field, _)| field.name.as_str())
            .collect();
        if suggest_fields.len() > 1 {
            return Err(InvalidValue::new(
                "fields",
                format!(
                    "several TEXT fields set suggest ({}); an index has one suggestion dictionary, so set it on one field",
                    suggest_fields.join(", ")
                ),
            ));
        }

        for (position, field) in self.fields.iter().enumerate() {
            let FieldKind::Vector(options) = &field.kind else {
                continue;
            };
            for (source_position, source) in options.embedding_source_fields.iter().enumerate() {
                let path =
                    format!("fields[{position}].vector.embedding_source_fields[{source_position}]");
                match self.field(source) {
                    Some(Field {
                        kind: FieldKind::Text(_),
                        ..
                    }) => {}
                    Some(other) => {
                        return Err(InvalidValue::new(
                            path,
                            format!(
                                "{} is a {} field; embedding source fields must be TEXT fields",
                                quote(source),
                                other.type_name()
                            ),
                        ));
                    }
                    None => {
                        return Err(InvalidValue::new(
                            path,
                            format!(
                                "{} is not a field of the schema; name a TEXT field",
                                quote(source)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_field_name(name: &str) -> Result<(), InvalidValue> {
    let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let starts_well = name.chars().next().is_some_and(|c| !c.is_ascii_digit());
    if name.is_empty() || name.len() > MAX_FIELD_NAME_LEN || !valid_chars || !starts_well {
        return Err(InvalidValue::new(
            "name",
            format!(
                "{} is not a valid field name; use 1 to {MAX_FIELD_NAME_LEN} characters from [A-Za-z0-9_], not starting with a digit",
                quote(name)
            ),
        ));
    }
    if name.starts_with("__") {
        return Err(InvalidValue::new(
            "name",
            format!(
                "{} starts with \"__\", which is reserved for the service's own fields",
                quote(name)
            ),
        ));
    }
    Ok(())
}

fn parse_field(field: &pb::FieldSchema) -> Result<Field, InvalidValue> {
    check_field_name(&field.name)?;
    let Some(kind) = &field.kind else {
        return Err(InvalidValue::new(
            "kind",
            format!(
                "field {} has no type; set one of text, tag, numeric, geo or vector",
                quote(&field.name)
            ),
        ));
    };
    let kind = match kind {
        pb::field_schema::Kind::Text(text) => {
            FieldKind::Text(parse_text(text).map_err(|e| e.within("text"))?)
        }
        pb::field_schema::Kind::Tag(tag) => {
            FieldKind::Tag(parse_tag(tag).map_err(|e| e.within("tag"))?)
        }
        pb::field_schema::Kind::Numeric(numeric) => FieldKind::Numeric(NumericOptions {
            sortable: numeric.sortable,
        }),
        pb::field_schema::Kind::Geo(pb::GeoField {}) => FieldKind::Geo,
        pb::field_schema::Kind::Vector(vector) => {
            if field.index_missing {
                return Err(InvalidValue::new(
                    "index_missing",
                    "VECTOR fields cannot set index_missing; set it on TEXT, TAG, NUMERIC or GEO fields",
                ));
            }
            FieldKind::Vector(parse_vector(vector).map_err(|e| e.within("vector"))?)
        }
    };
    Ok(Field {
        name: field.name.clone(),
        index_missing: field.index_missing,
        kind,
    })
}

fn parse_text(text: &pb::TextField) -> Result<TextOptions, InvalidValue> {
    let pb::TextField {
        weight,
        no_stem,
        sortable,
        suggest,
    } = *text;
    if !weight.is_finite() || !(0.0..=1000.0).contains(&weight) {
        return Err(InvalidValue::new(
            "weight",
            format!("{weight} is out of range; use a weight from 0 (meaning 1.0) to 1000"),
        ));
    }
    Ok(TextOptions {
        weight: if weight == 0.0 { 1.0 } else { weight },
        no_stem,
        sortable,
        suggest,
    })
}

fn parse_tag(tag: &pb::TagField) -> Result<TagOptions, InvalidValue> {
    let mut chars = tag.separator.chars();
    let separator = match (chars.next(), chars.next()) {
        (None, _) => DEFAULT_TAG_SEPARATOR,
        (Some(c), None) if c.is_ascii_punctuation() => c,
        _ => {
            return Err(InvalidValue::new(
                "separator",
                format!(
                    "{} is not a valid separator; use one ASCII punctuation character such as \",\" or \"|\"",
                    quote(&tag.separator)
                ),
            ));
        }
    };
    Ok(TagOptions {
        separator,
        case_sensitive: tag.case_sensitive,
        sortable: tag.sortable,
    })
}

fn parse_vector(vector: &pb::VectorField) -> Result<VectorOptions, InvalidValue> {
    let algorithm = match pb::VectorAlgorithm::try_from(vector.algorithm) {
        Ok(pb::VectorAlgorithm::Flat) => VectorAlgorithm::Flat,
        Ok(pb::VectorAlgorithm::Hnsw) => VectorAlgorithm::Hnsw,
        _ => {
            return Err(InvalidValue::new(
                "algorithm",
                format!(
                    "{} is not a vector algorithm; use VECTOR_ALGORITHM_FLAT (exact) or VECTOR_ALGORITHM_HNSW (approximate)",
                    vector.algorithm
                ),
            ));
        }
    };
    let metric = match pb::DistanceMetric::try_from(vector.metric) {
        Ok(pb::DistanceMetric::Cosine) => DistanceMetric::Cosine,
        Ok(pb::DistanceMetric::L2) => DistanceMetric::L2,
        Ok(pb::DistanceMetric::Ip) => DistanceMetric::InnerProduct,
        _ => {
            return Err(InvalidValue::new(
                "metric",
                format!(
                    "{} is not a distance metric; use DISTANCE_METRIC_COSINE, DISTANCE_METRIC_L2 or DISTANCE_METRIC_IP",
                    vector.metric
                ),
            ));
        }
    };
    match pb::VectorDataType::try_from(vector.data_type) {
        Ok(pb::VectorDataType::Unspecified | pb::VectorDataType::Float32) => {}
        _ => {
            return Err(InvalidValue::new(
                "data_type",
                format!(
                    "{} is not supported; use VECTOR_DATA_TYPE_FLOAT32",
                    vector.data_type
                ),
            ));
        }
    }
    let dimension = vector.dimension as usize;
    if dimension == 0 || dimension > MAX_DIMENSION {
        return Err(InvalidValue::new(
            "dimension",
            format!("{dimension} is out of range; use 1 to {MAX_DIMENSION}"),
        ));
    }
    check_hnsw_parameter(algorithm, "m", vector.m, 2, 512)?;
    check_hnsw_parameter(
        algorithm,
        "ef_construction",
        vector.ef_construction,
        1,
        4096,
    )?;
    check_hnsw_parameter(algorithm, "ef_runtime", vector.ef_runtime, 1, 4096)?;
    if vector.model.len() > 128 || vector.model.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "model",
            format!(
                "{} is not a valid model name; use at most 128 printable characters",
                quote(&vector.model)
            ),
        ));
    }
    Ok(VectorOptions {
        algorithm,
        dimension,
        metric,
        m: vector.m,
        ef_construction: vector.ef_construction,
        ef_runtime: vector.ef_runtime,
        model: vector.model.clone(),
        embedding_source_fields: vector.embedding_source_fields.clone(),
    })
}

fn check_hnsw_parameter(
    algorithm: VectorAlgorithm,
    name: &str,
    value: u32,
    min: u32,
    max: u32,
) -> Result<(), InvalidValue> {
    if value == 0 {
        return Ok(());
    }
    if algorithm != VectorAlgorithm::Hnsw {
        return Err(InvalidValue::new(
            name,
            format!("{name} = {value} applies to HNSW only; leave it 0 for FLAT"),
        ));
    }
    if !(min..=max).contains(&value) {
        return Err(InvalidValue::new(
            name,
            format!("{value} is out of range; use {min} to {max}, or 0 for the RediSearch default"),
        ));
    }
    Ok(())
}

fn field_to_proto(field: &Field) -> pb::FieldSchema {
    use pb::field_schema::Kind;
    let kind = match &field.kind {
        FieldKind::Text(text) => Kind::Text(pb::TextField {
            weight: text.weight,
            no_stem: text.no_stem,
            sortable: text.sortable,
            suggest: text.suggest,
        }),
        FieldKind::Tag(tag) => Kind::Tag(pb::TagField {
            separator: tag.separator.to_string(),
            case_sensitive: tag.case_sensitive,
            sortable: tag.sortable,
        }),
        FieldKind::Numeric(numeric) => Kind::Numeric(pb::NumericField {
            sortable: numeric.sortable,
        }),
        FieldKind::Geo => Kind::Geo(pb::GeoField {}),
        FieldKind::Vector(vector) => Kind::Vector(pb::VectorField {
            algorithm: match vector.algorithm {
                VectorAlgorithm::Flat => pb::VectorAlgorithm::Flat,
                VectorAlgorithm::Hnsw => pb::VectorAlgorithm::Hnsw,
            } as i32,
            dimension: vector.dimension as u32,
            metric: vector.metric.to_proto() as i32,
            data_type: pb::VectorDataType::Float32 as i32,
            m: vector.m,
            ef_construction: vector.ef_construction,
            ef_runtime: vector.ef_runtime,
            model: vector.model.clone(),
            embedding_source_fields: vector.embedding_source_fields.clone(),
        }),
    };
    pb::FieldSchema {
        name: field.name.clone(),
        index_missing: field.index_missing,
        kind: Some(kind),
    }
}

fn append_field_arguments(command: &mut redis::Cmd, field: &Field) {
    command.arg(&field.name);
    match &field.kind {
        FieldKind::Text(text) => {
            command.arg("TEXT").arg("WEIGHT").arg(text.weight);
            if text.no_stem {
                command.arg("NOSTEM");
            }
        }
        FieldKind::Tag(tag) => {
            command
                .arg("TAG")
                .arg("SEPARATOR")
                .arg(tag.separator.to_string());
            if tag.case_sensitive {
                command.arg("CASESENSITIVE");
            }
        }
        FieldKind::Numeric(_) => {
            command.arg("NUMERIC");
        }
        FieldKind::Geo => {
            command.arg("GEO");
        }
        FieldKind::Vector(vector) => append_vector_arguments(command, vector),
    }
    if field.index_missing {
        command.arg("INDEXMISSING");
    }
    if field.is_sortable() {
        command.arg("SORTABLE");
    }
}

fn append_vector_arguments(command: &mut redis::Cmd, vector: &VectorOptions) {
    let mut attributes: Vec<(&str, String)> = vec![
        ("TYPE", "FLOAT32".to_owned()),
        ("DIM", vector.dimension.to_string()),
        ("DISTANCE_METRIC", vector.metric.redis_name().to_owned()),
    ];
    for (name, value) in [
        ("M", vector.m),
        ("EF_CONSTRUCTION", vector.ef_construction),
        ("EF_RUNTIME", vector.ef_runtime),
    ] {
        if value != 0 {
            attributes.push((name, value.to_string()));
        }
    }
    let algorithm = match vector.algorithm {
        VectorAlgorithm::Flat => "FLAT",
        VectorAlgorithm::Hnsw => "HNSW",
    };
    command
        .arg("VECTOR")
        .arg(algorithm)
        .arg(attributes.len() * 2);
    for (name, value) in attributes {
        command.arg(name).arg(value);
    }
}

#[cfg(test)]
mod tests;
