//! Deterministic demo text: names, bios, posts with hashtags, chat lines. Everything comes from
//! a seeded RNG, so one seed value always gives the same system.

pub const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Alan",
    "Radia",
    "Edsger",
    "Hedy",
    "Donald",
    "Katherine",
    "Tim",
    "Shafi",
    "Leslie",
    "Sophie",
    "Niklaus",
    "Anita",
];
pub const LAST_NAMES: &[&str] =
    &["Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Turing", "Perlman", "Knuth", "Johnson"];
const TOPICS: &[&str] =
    &["rust", "postgres", "coffee", "hiking", "music", "photography", "cooking", "cycling", "books", "travel", "design", "gardening"];
const OPENERS: &[&str] =
    &["Just finished", "Thinking about", "Trying out", "Loving", "Notes on", "Weekend plans:", "Today I learned about", "Finally tried"];
const OBJECTS: &[&str] = &[
    "a new espresso recipe",
    "the mountain trail north of town",
    "an old film camera",
    "a tiny key-value store",
    "sourdough, attempt number four",
    "the city's best bike lane",
    "a book on distributed systems",
    "tomatoes on the balcony",
    "a jazz record from 1959",
    "query plans that finally make sense",
];
const CHAT: &[&str] = &["hi!", "how are you?", "did you see that post?", "coffee tomorrow?", "sounds great", "haha", "see you then", "thanks!"];

pub fn pick<'a>(rng: &mut fastrand::Rng, words: &[&'a str]) -> &'a str {
    words.get(rng.usize(..words.len())).copied().unwrap_or_default()
}

/// A post: a sentence and one or two hashtags from the topics.
pub fn post(rng: &mut fastrand::Rng) -> String {
    let topic = pick(rng, TOPICS);
    let mut body = format!("{} {} #{topic}", pick(rng, OPENERS), pick(rng, OBJECTS));
    if rng.bool() {
        body.push_str(&format!(" #{}", pick(rng, TOPICS)));
    }
    body
}

pub fn bio(rng: &mut fastrand::Rng) -> String {
    format!("Into {} and {}.", pick(rng, TOPICS), pick(rng, TOPICS))
}

pub fn chat_line(rng: &mut fastrand::Rng) -> String {
    pick(rng, CHAT).to_string()
}

pub fn stream_title(rng: &mut fastrand::Rng) -> String {
    format!("Live: {}", pick(rng, OBJECTS))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_same_seed_gives_the_same_text() {
        let (mut a, mut b) = (fastrand::Rng::with_seed(7), fastrand::Rng::with_seed(7));
        let first: Vec<String> = (0..20).map(|_| super::post(&mut a)).collect();
        let second: Vec<String> = (0..20).map(|_| super::post(&mut b)).collect();
        assert_eq!(first, second);
        assert!(first.iter().all(|post| post.contains(" #")), "every post carries a hashtag: {first:?}");
    }
}
