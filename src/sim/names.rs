//! Word lists for generated people, departments and tenants. People's names are written as
//! they really are (diacritics, Greek, Cyrillic, Japanese, Chinese, Korean, Arabic, Devanagari,
//! apostrophes), because real tenants hold such names; each also has the ASCII form that
//! addresses are built from, since Entra ID allows only `A–Z a–z 0–9 ' . - _ ! # ^ ~` in a
//! user principal name's local part (see docs/rehearsal.md).

use super::rng::Rng;

/// A name part as written, and its ASCII spelling for addresses (`""`: the name is ASCII and
/// its lower case is the spelling).
type Part = (&'static str, &'static str);

/// How a culture writes a full name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// `Jürgen Müller`.
    GivenFamily,
    /// `Nguyễn Minh`: family name first, with a space.
    FamilyGiven,
    /// `田中太郎`: family name first, no space (Japanese, Chinese, Korean).
    FamilyJoined,
}

struct Culture {
    given: &'static [Part],
    family: &'static [Part],
    order: Order,
    /// Out of the sum of all weights.
    weight: usize,
}

/// Given and family names of the Latin-script cultures (German, Nordic, French, Spanish,
/// Polish, Czech, Turkish, Irish, …), with their usual transliterations (ü → ue, ø → oe,
/// å → aa, ß → ss).
const LATIN_GIVEN: &[Part] = &[
    ("Aaron", ""),
    ("Adele", ""),
    ("Adriana", ""),
    ("Ahmed", ""),
    ("Aiko", ""),
    ("Alex", ""),
    ("Alice", ""),
    ("Amara", ""),
    ("Ana", ""),
    ("Andreas", ""),
    ("Anna", ""),
    ("Arjun", ""),
    ("Ben", ""),
    ("Bianca", ""),
    ("Björn", "bjoern"),
    ("Camille", ""),
    ("Carlos", ""),
    ("Carmen", ""),
    ("Chen", ""),
    ("Chloé", "chloe"),
    ("Christian", ""),
    ("Clara", ""),
    ("Dagný", "dagny"),
    ("Daniel", ""),
    ("David", ""),
    ("Diego", ""),
    ("Elena", ""),
    ("Elif", ""),
    ("Emil", ""),
    ("Emma", ""),
    ("Eva", ""),
    ("Fatima", ""),
    ("Felix", ""),
    ("Finn", ""),
    ("Florian", ""),
    ("Frank", ""),
    ("François", "francois"),
    ("Gabriel", ""),
    ("Grace", ""),
    ("Greta", ""),
    ("Gülşen", "guelsen"),
    ("Hana", ""),
    ("Hannah", ""),
    ("Hiroshi", ""),
    ("Ibrahim", ""),
    ("Inés", "ines"),
    ("Irene", ""),
    ("Isaac", ""),
    ("Ivan", ""),
    ("Jakob", ""),
    ("James", ""),
    ("Jan", ""),
    ("Javier", ""),
    ("Jean-Rémi", "jean-remi"),
    ("Jonas", ""),
    ("Julia", ""),
    ("Jürgen", "juergen"),
    ("Karin", ""),
    ("Kenji", ""),
    ("Klaus", ""),
    ("Lara", ""),
    ("Laura", ""),
    ("Leon", ""),
    ("Lina", ""),
    ("Lucas", ""),
    ("Lukas", ""),
    ("Léa", "lea"),
    ("Marco", ""),
    ("Maria", ""),
    ("Mark", ""),
    ("Marta", ""),
    ("Max", ""),
    ("Maya", ""),
    ("Małgorzata", "malgorzata"),
    ("Mia", ""),
    ("Miguel", ""),
    ("Mila", ""),
    ("Nadia", ""),
    ("Nina", ""),
    ("Noah", ""),
    ("Nora", ""),
    ("Olga", ""),
    ("Omar", ""),
    ("Paul", ""),
    ("Petra", ""),
    ("Priya", ""),
    ("Rafael", ""),
    ("Rania", ""),
    ("Renée", "renee"),
    ("Robert", ""),
    ("Rosa", ""),
    ("Sam", ""),
    ("Sandra", ""),
    ("Sara", ""),
    ("Sebastian", ""),
    ("Siobhán", "siobhan"),
    ("Sofia", ""),
    ("Stefan", ""),
    ("Søren", "soeren"),
    ("Tariq", ""),
    ("Thomas", ""),
    ("Tim", ""),
    ("Valentina", ""),
    ("Victor", ""),
    ("Wei", ""),
    ("Yara", ""),
    ("Yusuf", ""),
    ("Zoë", "zoe"),
    ("Ángel", "angel"),
    ("Åsa", "aasa"),
    ("Óskar", "oskar"),
];

const LATIN_FAMILY: &[Part] = &[
    ("Adams", ""),
    ("Ahmadi", ""),
    ("Andersen", ""),
    ("Bauer", ""),
    ("Becker", ""),
    ("Berg", ""),
    ("Bianchi", ""),
    ("Brandt", ""),
    ("Brown", ""),
    ("Bäcker", "baecker"),
    ("Castro", ""),
    ("Chen", ""),
    ("Clarke", ""),
    ("Costa", ""),
    ("D'Angelo", "d'angelo"),
    ("Dahl", ""),
    ("Dubois", ""),
    ("Dvořák", "dvorak"),
    ("Díaz", "diaz"),
    ("Eriksson", ""),
    ("Evans", ""),
    ("Fischer", ""),
    ("Fontaine", ""),
    ("García", "garcia"),
    ("Gonçalves", "goncalves"),
    ("Große", "grosse"),
    ("Gruber", ""),
    ("Gómez", "gomez"),
    ("Hansen", ""),
    ("Hartmann", ""),
    ("Hoffmann", ""),
    ("Huber", ""),
    ("Ivanova", ""),
    ("Jansen", ""),
    ("Jensen", ""),
    ("Johnson", ""),
    ("Jäger", "jaeger"),
    ("Kaiser", ""),
    ("Kato", ""),
    ("Keller", ""),
    ("Khan", ""),
    ("Kim", ""),
    ("Klein", ""),
    ("Koch", ""),
    ("Kovačević", "kovacevic"),
    ("Kowalski", ""),
    ("Kraus", ""),
    ("Köhler", "koehler"),
    ("Lang", ""),
    ("Larsen", ""),
    ("Laurent", ""),
    ("Lee", ""),
    ("Lehmann", ""),
    ("Lorenz", ""),
    ("Lévesque", "levesque"),
    ("López", "lopez"),
    ("Martin", ""),
    ("Meier", ""),
    ("Mendes", ""),
    ("Meyer", ""),
    ("Moreau", ""),
    ("Müller", "mueller"),
    ("Nakamura", ""),
    ("Neumann", ""),
    ("Nguyen", ""),
    ("Nielsen", ""),
    ("Novák", "novak"),
    ("Núñez", "nunez"),
    ("O'Brien", "o'brien"),
    ("O'Connor", "o'connor"),
    ("Okafor", ""),
    ("Olsen", ""),
    ("Otto", ""),
    ("Park", ""),
    ("Patel", ""),
    ("Peters", ""),
    ("Petrov", ""),
    ("Popescu", ""),
    ("Ramos", ""),
    ("Richter", ""),
    ("Rossi", ""),
    ("Roth", ""),
    ("Santos", ""),
    ("Sato", ""),
    ("Schmid", ""),
    ("Schmidt", ""),
    ("Schneider", ""),
    ("Schulz", ""),
    ("Schwarz", ""),
    ("Silva", ""),
    ("Singh", ""),
    ("Smith", ""),
    ("Sommer", ""),
    ("Strauß", "strauss"),
    ("Suzuki", ""),
    ("Sæther", "saether"),
    ("Tanaka", ""),
    ("Taylor", ""),
    ("Thomsen", ""),
    ("Vogel", ""),
    ("Wagner", ""),
    ("Walter", ""),
    ("Wang", ""),
    ("Weber", ""),
    ("Weiß", "weiss"),
    ("Werner", ""),
    ("Wilson", ""),
    ("Winter", ""),
    ("Wolf", ""),
    ("Wong", ""),
    ("Young", ""),
    ("Yılmaz", "yilmaz"),
    ("Zhang", ""),
    ("Zimmermann", ""),
    ("Álvarez", "alvarez"),
    ("Åberg", "aaberg"),
    ("Çelik", "celik"),
    ("Öztürk", "oeztuerk"),
    ("Ødegård", "oedegaard"),
    ("Łukasiewicz", "lukasiewicz"),
];

const GREEK_GIVEN: &[Part] = &[
    ("Ελένη", "eleni"),
    ("Γιώργος", "giorgos"),
    ("Δημήτρης", "dimitris"),
    ("Κατερίνα", "katerina"),
    ("Νίκος", "nikos"),
    ("Σοφία", "sofia"),
];
const GREEK_FAMILY: &[Part] = &[
    ("Παπαδοπούλου", "papadopoulou"),
    ("Οικονόμου", "oikonomou"),
    ("Γεωργίου", "georgiou"),
    ("Νικολάου", "nikolaou"),
    ("Βασιλείου", "vasileiou"),
];
const CYRILLIC_GIVEN: &[Part] = &[
    ("Ольга", "olga"),
    ("Дмитрий", "dmitriy"),
    ("Анна", "anna"),
    ("Сергей", "sergey"),
    ("Наталья", "natalya"),
    ("Юлия", "yuliya"),
];
const CYRILLIC_FAMILY: &[Part] = &[
    ("Иванова", "ivanova"),
    ("Петров", "petrov"),
    ("Смирнова", "smirnova"),
    ("Кузнецов", "kuznetsov"),
    ("Соколова", "sokolova"),
];
const JAPANESE_GIVEN: &[Part] = &[
    ("太郎", "taro"),
    ("花子", "hanako"),
    ("健太", "kenta"),
    ("美咲", "misaki"),
    ("翔", "sho"),
    ("由美", "yumi"),
];
const JAPANESE_FAMILY: &[Part] = &[
    ("田中", "tanaka"),
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
];
const CHINESE_GIVEN: &[Part] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("秀英", "xiuying"),
    ("静", "jing"),
    ("强", "qiang"),
    ("丽娜", "lina"),
];
const CHINESE_FAMILY: &[Part] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
];
const KOREAN_GIVEN: &[Part] = &[
    ("민준", "minjun"),
    ("서연", "seoyeon"),
    ("지훈", "jihoon"),
    ("수빈", "subin"),
];
const KOREAN_FAMILY: &[Part] = &[("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi")];
const ARABIC_GIVEN: &[Part] = &[
    ("محمد", "mohammed"),
    ("فاطمة", "fatima"),
    ("أحمد", "ahmed"),
    ("ليلى", "layla"),
    ("عمر", "omar"),
];
const ARABIC_FAMILY: &[Part] = &[
    ("حداد", "haddad"),
    ("منصور", "mansour"),
    ("الحسن", "alhassan"),
    ("خوري", "khoury"),
];
const DEVANAGARI_GIVEN: &[Part] = &[
    ("प्रिया", "priya"),
    ("अर्जुन", "arjun"),
    ("राहुल", "rahul"),
    ("अनीता", "anita"),
];
const DEVANAGARI_FAMILY: &[Part] = &[("शर्मा", "sharma"), ("पटेल", "patel"), ("सिंह", "singh")];
const VIETNAMESE_GIVEN: &[Part] = &[
    ("Hương", "huong"),
    ("Minh", ""),
    ("Thảo", "thao"),
    ("Đức", "duc"),
];
const VIETNAMESE_FAMILY: &[Part] = &[
    ("Nguyễn", "nguyen"),
    ("Trần", "tran"),
    ("Lê", "le"),
    ("Phạm", "pham"),
];

/// Weights: a European company with staff from many places.
const CULTURES: &[Culture] = &[
    Culture {
        given: LATIN_GIVEN,
        family: LATIN_FAMILY,
        order: Order::GivenFamily,
        weight: 70,
    },
    Culture {
        given: GREEK_GIVEN,
        family: GREEK_FAMILY,
        order: Order::GivenFamily,
        weight: 4,
    },
    Culture {
        given: CYRILLIC_GIVEN,
        family: CYRILLIC_FAMILY,
        order: Order::GivenFamily,
        weight: 5,
    },
    Culture {
        given: JAPANESE_GIVEN,
        family: JAPANESE_FAMILY,
        order: Order::FamilyJoined,
        weight: 5,
    },
    Culture {
        given: CHINESE_GIVEN,
        family: CHINESE_FAMILY,
        order: Order::FamilyJoined,
        weight: 5,
    },
    Culture {
        given: KOREAN_GIVEN,
        family: KOREAN_FAMILY,
        order: Order::FamilyJoined,
        weight: 3,
    },
    Culture {
        given: ARABIC_GIVEN,
        family: ARABIC_FAMILY,
        order: Order::GivenFamily,
        weight: 3,
    },
    Culture {
        given: DEVANAGARI_GIVEN,
        family: DEVANAGARI_FAMILY,
        order: Order::GivenFamily,
        weight: 3,
    },
    Culture {
        given: VIETNAMESE_GIVEN,
        family: VIETNAMESE_FAMILY,
        order: Order::FamilyGiven,
        weight: 2,
    },
];

/// A generated person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    pub given: String,
    pub family: String,
    /// As the culture writes it: `Jürgen Müller`, `田中太郎`.
    pub display: String,
    /// ASCII `given.family`, lower case: the base of the UPN and primary address.
    pub local: String,
    /// ASCII first letter of the given name and the family name: `jmueller`.
    pub short: String,
    /// The name as written, lower case, for an internationalised (EAI) alias: `jürgen.müller`,
    /// `田中太郎`; `None` when the name is ASCII anyway.
    pub native_local: Option<String>,
}

fn ascii(part: Part) -> String {
    if part.1.is_empty() {
        part.0.to_ascii_lowercase()
    } else {
        part.1.to_string()
    }
}

/// One person, drawn from the cultures by weight.
pub(crate) fn person(rng: &mut Rng) -> Person {
    let total: usize = CULTURES.iter().map(|c| c.weight).sum();
    let mut roll = rng.below(total);
    let culture = CULTURES
        .iter()
        .find(|c| {
            let hit = roll < c.weight;
            roll = roll.saturating_sub(c.weight);
            hit
        })
        .unwrap_or(&CULTURES[0]);
    let given = *rng.pick(culture.given);
    let family = *rng.pick(culture.family);
    let (g, f) = (ascii(given), ascii(family));
    let (display, local, native) = match culture.order {
        Order::GivenFamily => (
            format!("{} {}", given.0, family.0),
            format!("{g}.{f}"),
            format!("{}.{}", given.0, family.0),
        ),
        Order::FamilyGiven => (
            format!("{} {}", family.0, given.0),
            format!("{f}.{g}"),
            format!("{}.{}", family.0, given.0),
        ),
        Order::FamilyJoined => (
            format!("{}{}", family.0, given.0),
            format!("{f}.{g}"),
            format!("{}{}", family.0, given.0),
        ),
    };
    let initial: String = g.chars().take(1).collect();
    Person {
        given: given.0.to_string(),
        family: family.0.to_string(),
        display,
        short: format!("{initial}{f}"),
        local,
        native_local: (!native.is_ascii()).then(|| native.to_lowercase()),
    }
}

pub(crate) const JOB_TITLES: &[&str] = &[
    "Account Manager",
    "Accountant",
    "Analyst",
    "Consultant",
    "Customer Success Manager",
    "Designer",
    "Developer",
    "Engineer",
    "HR Specialist",
    "IT Administrator",
    "Marketing Manager",
    "Office Manager",
    "Product Manager",
    "Project Manager",
    "Sales Representative",
    "Support Engineer",
    "Team Lead",
];

pub(crate) const DEPARTMENTS: &[&str] = &[
    "Finance",
    "Human Resources",
    "IT",
    "Legal",
    "Marketing",
    "Operations",
    "Research",
    "Sales",
    "Support",
];

pub(crate) const OFFICES: &[&str] = &[
    "Berlin", "Hamburg", "London", "Munich", "Remote", "Seattle", "Vienna", "Zurich",
];

pub(crate) const LANGUAGES: &[&str] = &["en-US", "en-GB", "de-DE", "fr-FR", "de-AT"];

/// Company names for the source and destination tenants; seed 1 gives the first pair.
pub(crate) const SOURCE_COMPANIES: &[&str] = &[
    "Fabrikam",
    "Adatum",
    "Litware",
    "Tailspin",
    "Proseware",
    "Wingtip",
    "Lucerne",
    "Fourth Coffee",
];
pub(crate) const DESTINATION_COMPANIES: &[&str] = &[
    "Northwind",
    "Woodgrove",
    "Relecloud",
    "Alpine Ski",
    "Coho",
    "Trey Research",
    "Margie",
    "Wide World",
];
