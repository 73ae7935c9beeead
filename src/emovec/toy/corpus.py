"""Deterministic synthetic story corpus for training the tiny "toy" GPT-2-style models.

No real model weights can be downloaded in this project, so the pipeline trains toy models on
short stories generated here. For the emotion-vector methods to have something to find, the
corpus has *planted* structure at three levels:

1. **Emotion identity** - every emotion has its own lexicon (scene details, body sensations,
   actions, thoughts); a story about an emotion draws several items from it.
2. **Valence** - shared positive/negative phrases are mixed in with a probability and polarity
   set by the emotion's valence in :data:`TOY_AFFECT`, so emotions of the same valence share
   vocabulary even though their own lexicons are disjoint.
3. **Arousal** - likewise shared high/low-arousal phrases, driven by the arousal coordinate.

Neutral stories use only a flat, matter-of-fact lexicon (chores, times, lists), no affective
phrases at all. Everything is pure standard library and driven by one ``random.Random(seed)``,
so a fixed seed gives byte-identical output on every machine.

Phrases are past-tense predicates (``"felt {their} chest grow heavy"``); a story sentence is a
subject (the character's name or pronoun) plus one predicate, optionally joined by ``and`` to a
second, shared predicate. The ``{they}``/``{them}``/``{their}`` slots are filled from the
character's pronouns. :func:`category_phrases` and :func:`surface_forms` expose the rendered
forms so tests (and analyses) can check which lexicon items a story contains.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from emovec.emotions import JEONG_20, NEUTRAL
from emovec.errors import EmovecInputError

# ---------------------------------------------------------------------------------------------
# Affect coordinates
# ---------------------------------------------------------------------------------------------

# (valence, arousal) on [-1, 1] for each of the 20 emotions. This is the project's OWN coarse
# circumplex placement, used only to shape the toy corpus (how often shared valence/arousal
# phrases appear in each emotion's stories). It is not taken from any paper and must not be
# used as ground truth for real models; it only makes sure a toy model has a valence and an
# arousal axis to discover. The single copy lives in stimuli/toy_norms.csv, which the valence
# study also reads as the toy's "norms" (norms: toy), so the planted axes and the ratings the
# analysis correlates against can never drift apart.
def _read_toy_affect() -> dict[str, tuple[float, float]]:
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "stimuli" / "toy_norms.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["emotion"]: (float(r["valence"]), float(r["arousal"])) for r in csv.DictReader(fh)}


TOY_AFFECT: dict[str, tuple[float, float]] = _read_toy_affect()

# ---------------------------------------------------------------------------------------------
# Lexicons
# ---------------------------------------------------------------------------------------------

# Slot order is also the order slots appear in a story (situation first, reflection last), which
# gives the stories a simple, learnable narrative shape.
EMOTION_SLOTS: tuple[str, ...] = ("scene", "body", "action", "thought")

# Emotion-specific lexicon: 8 predicates per slot per emotion. Items are unique across emotions
# and no item is a substring of another category's item (tests check this), so "contains an
# item of emotion X" is an unambiguous label signal.
EMOTION_LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    "happy": {
        "scene": (
            "saw the sun come out over the rooftops",
            "found a note from a friend on the table",
            "got a call with good news",
            "watched the kids laugh and play",
            "saw old friends waving from across the street",
            "found the last piece of cake waiting",
            "heard a favorite song on the radio",
            "won the small prize at the fair",
        ),
        "body": (
            "could not stop smiling",
            "felt light on {their} feet",
            "laughed out loud for no reason",
            "felt a warm buzz in {their} chest",
            "had a wide grin on {their} face",
            "felt {their} cheeks ache from smiling",
            "had a bounce in {their} step",
            "felt {their} shoulders loosen and lift",
        ),
        "action": (
            "hummed a tune while walking",
            "danced a little in the hallway",
            "waved at everyone on the street",
            "skipped down the steps",
            "called a friend to share the news",
            "bought flowers for no reason",
            "gave a big hug to {their} neighbor",
            "sang along with the radio",
        ),
        "thought": (
            "thought that this was a good day",
            "wished the moment could last",
            "thought that life was sweet",
            "knew that things were going well",
            "thought of all the fun still to come",
            "decided to remember this day",
            "thought everything felt just right",
            "wanted to share the joy with everyone",
        ),
    },
    "sad": {
        "scene": (
            "found an old photo of a friend who had moved away",
            "read a letter that said goodbye",
            "saw the empty chair at the table",
            "heard that the old dog had died",
            "looked at the rain on the window",
            "packed away the toys of a child who had grown up",
            "walked past the closed shop where {they} used to work",
            "listened to the quiet house",
        ),
        "body": (
            "felt tears fill {their} eyes",
            "felt a lump in {their} throat",
            "felt {their} chest grow heavy",
            "had a dull ache behind {their} eyes",
            "felt {their} shoulders drop",
            "let out a long shaky sigh",
            "felt too tired to lift {their} arms",
            "wiped a tear from {their} cheek",
        ),
        "action": (
            "sat alone on the edge of the bed",
            "held the photo for a long time",
            "turned off the lights early",
            "left the food on the plate",
            "pulled the blanket up and cried",
            "put the letter away in a box",
            "walked home slowly with {their} head down",
            "did not answer the phone",
        ),
        "thought": (
            "missed the way things used to be",
            "thought that nothing would be the same",
            "wished {they} could go back",
            "felt that something was lost for good",
            "thought about the people who were gone",
            "wondered why it had to end",
            "thought the world felt empty",
            "remembered the last goodbye",
        ),
    },
    "calm": {
        "scene": (
            "watched the lake lie flat and still",
            "listened to soft rain on the roof",
            "saw the evening light fade slowly",
            "heard only the ticking of the clock",
            "watched the leaves drift down one by one",
            "sat by a window with a cup of tea",
            "saw the cat asleep in the sun",
            "heard the waves roll in softly",
        ),
        "body": (
            "breathed in slowly and deeply",
            "felt {their} muscles relax",
            "felt {their} heartbeat slow down",
            "let {their} hands rest in {their} lap",
            "felt loose and steady",
            "felt {their} jaw unclench",
            "kept a slow even breath",
            "felt {their} body sink into the chair",
        ),
        "action": (
            "folded the blanket without hurry",
            "poured the tea with a steady hand",
            "took one task at a time",
            "walked at an easy pace",
            "answered the question in a quiet voice",
            "closed {their} eyes for a while",
            "set each cup down gently",
            "let the phone ring without rushing",
        ),
        "thought": (
            "thought that there was plenty of time",
            "knew that things would sort themselves out",
            "let each thought pass by",
            "felt no need to rush",
            "thought that all was well for now",
            "decided that worry could wait",
            "noticed the quiet and liked it",
            "thought the day could unfold as it wanted",
        ),
    },
    "desperate": {
        "scene": (
            "saw the last bus pull away without {them}",
            "read that the rent was due tomorrow",
            "found the bank account empty",
            "heard the door lock behind {them} for good",
            "watched the clock run out",
            "got a final notice in the mail",
            "saw that no one was coming to help",
            "learned that the last chance was gone",
        ),
        "body": (
            "felt {their} heart pound against {their} ribs",
            "had sweat running down {their} back",
            "felt {their} breath come in ragged gasps",
            "clenched {their} fists until they hurt",
            "felt {their} knees go weak",
            "felt {their} stomach twist in knots",
            "had shaking hands",
            "felt {their} throat go dry",
        ),
        "action": (
            "begged the clerk for one more day",
            "called every number {they} knew",
            "ran after the bus shouting",
            "pounded on the locked door",
            "emptied every pocket for coins",
            "pleaded with anyone who would listen",
            "searched the whole house again and again",
            "offered to do anything at all",
        ),
        "thought": (
            "thought there had to be some way out",
            "would try anything now",
            "thought that time was running out",
            "could not let it end like this",
            "kept thinking please, please",
            "knew this was the last chance",
            "felt trapped with nowhere to turn",
            "thought that everything depended on this",
        ),
    },
    "afraid": {
        "scene": (
            "heard footsteps behind {them} in the dark",
            "saw a shadow move by the door",
            "heard a loud crash from the basement",
            "noticed the back door was open",
            "saw a large dog running straight at {them}",
            "heard a strange voice in the empty hall",
            "saw the lights go out all at once",
            "felt the floor shake under {them}",
        ),
        "body": (
            "felt {their} blood run cold",
            "froze where {they} stood",
            "felt the hair rise on {their} arms",
            "had {their} heart jump into {their} throat",
            "felt {their} legs turn to jelly",
            "held {their} breath",
            "felt a chill run down {their} spine",
            "went pale",
        ),
        "action": (
            "backed slowly toward the wall",
            "hid behind the door",
            "grabbed the phone to call for help",
            "ran for the nearest light",
            "locked the door with trembling fingers",
            "crouched low and kept still",
            "screamed for help",
            "pulled the covers over {their} head",
        ),
        "thought": (
            "thought that something bad was about to happen",
            "wanted to be anywhere else",
            "feared someone was there",
            "thought {they} might get hurt",
            "prayed it would go away",
            "wondered what was out there",
            "could only think about getting out",
            "thought that {they} was not safe",
        ),
    },
    "angry": {
        "scene": (
            "found that someone had smashed {their} car window",
            "heard a coworker take credit for {their} work",
            "saw the neighbor dump trash on {their} lawn",
            "got blamed for a mistake {they} did not make",
            "was cut in line again",
            "found the package broken on purpose",
            "heard a lie told about {them}",
            "was shouted at by a rude driver",
        ),
        "body": (
            "felt {their} face burn hot",
            "clenched {their} jaw",
            "felt heat rise up {their} neck",
            "had {their} hands ball into fists",
            "felt {their} pulse throb in {their} temples",
            "gritted {their} teeth",
            "felt {their} whole body tense up",
            "breathed hard through {their} nose",
        ),
        "action": (
            "slammed the door",
            "yelled at the top of {their} voice",
            "threw the papers across the room",
            "kicked the chair over",
            "stormed out of the room",
            "banged a fist on the table",
            "demanded an answer right now",
            "snapped at anyone nearby",
        ),
        "thought": (
            "thought that this was not fair at all",
            "wanted someone to pay for this",
            "would not let this slide",
            "thought that they had gone too far",
            "was sick of being pushed around",
            "thought about what {they} should have said",
            "could not believe the nerve of it",
            "vowed to make it right",
        ),
    },
    "proud": {
        "scene": (
            "saw {their} name at the top of the list",
            "held the trophy {they} had won",
            "watched {their} daughter graduate",
            "finished building the shed alone",
            "got praise from the boss in front of everyone",
            "saw {their} painting hung in the hall",
            "passed the hard exam",
            "finished the long race",
        ),
        "body": (
            "stood up tall",
            "held {their} head high",
            "felt {their} chest swell",
            "could not hide a small smile",
            "squared {their} shoulders",
            "felt a glow of warmth in {their} face",
            "walked with a straight back",
            "felt ten feet tall",
        ),
        "action": (
            "showed the medal to everyone",
            "hung the certificate on the wall",
            "told {their} family about the win",
            "shook hands with the judges",
            "took a photo of the finished work",
            "accepted the award with a nod",
            "pointed to {their} name on the board",
            "wore the new badge every day",
        ),
        "thought": (
            "thought that all the hard work had paid off",
            "knew {they} had earned this",
            "thought that {they} had done something good",
            "felt that {they} had proven them wrong",
            "thought of how far {they} had come",
            "knew {they} could do hard things",
            "thought that {their} parents would be pleased",
            "was sure {they} had done {their} best",
        ),
    },
    "guilty": {
        "scene": (
            "saw the broken vase {they} had hidden",
            "remembered the promise {they} had broken",
            "looked at the friend {they} had lied to",
            "found the money {they} had taken still in {their} coat",
            "heard {their} sister crying after the fight",
            "saw the dog {they} had forgotten to feed",
            "read the message {they} had ignored for weeks",
            "saw someone else blamed for {their} mistake",
        ),
        "body": (
            "could not meet anyone's eyes",
            "felt {their} stomach sink",
            "felt {their} face go red",
            "had a knot in {their} gut",
            "squirmed in {their} chair",
            "swallowed hard",
            "felt a weight on {their} conscience",
            "lowered {their} gaze to the floor",
        ),
        "action": (
            "kept looking at the floor",
            "tried to fix what {they} had broken",
            "wrote an apology and tore it up",
            "avoided {their} friend all day",
            "finally said sorry",
            "gave the money back quietly",
            "offered to pay for the damage",
            "hid the pieces in a drawer",
        ),
        "thought": (
            "wished {they} had told the truth",
            "thought that it was all {their} fault",
            "could not stop replaying what {they} had done",
            "knew {they} had let everyone down",
            "thought that {they} did not deserve kindness",
            "wondered how to make it up to them",
            "kept thinking {they} should have known better",
            "felt like a bad person",
        ),
    },
    "nervous": {
        "scene": (
            "waited for {their} name to be called",
            "stood backstage before the show",
            "sat outside the interview room",
            "waited for the test to begin",
            "was about to speak in front of the class",
            "waited for a first date to arrive",
            "held the phone before a big call",
            "stood at the edge of the diving board",
        ),
        "body": (
            "had butterflies in {their} stomach",
            "had sweaty palms",
            "felt {their} voice shake",
            "kept tapping {their} foot",
            "felt {their} mouth go dry",
            "had a fluttering chest",
            "felt jittery all over",
            "kept clearing {their} throat",
        ),
        "action": (
            "checked {their} notes again",
            "fixed {their} hair one more time",
            "paced back and forth in the hall",
            "fiddled with {their} sleeve",
            "practiced the first line under {their} breath",
            "kept glancing at the door",
            "wiped {their} hands on {their} pants",
            "tried to smile and mostly failed",
        ),
        "thought": (
            "hoped {they} would not mess up",
            "worried about saying the wrong thing",
            "wondered what they would think of {them}",
            "thought that everyone was watching",
            "kept going over what could go wrong",
            "wanted it to be over soon",
            "was not sure {they} was ready",
            "thought {they} might forget everything",
        ),
    },
    "hopeful": {
        "scene": (
            "saw the first green shoots in the garden",
            "got a letter that said maybe",
            "watched the sun rise after the storm",
            "heard the doctor say there was a chance",
            "saw a light on in the window",
            "got a call back about the job",
            "saw the clouds start to part",
            "found a small seed still growing",
        ),
        "body": (
            "felt a lift in {their} chest",
            "sat up a little straighter",
            "felt {their} eyes brighten",
            "let out a breath {they} had been holding",
            "felt a small spark of warmth",
            "felt {their} steps grow lighter",
            "had a soft smile",
            "felt new energy in {their} arms",
        ),
        "action": (
            "started to plan for next spring",
            "wrote a list of things to try",
            "sent in one more application",
            "planted new seeds in the soil",
            "saved a little money for later",
            "marked a date on the calendar",
            "looked up at the sky and waited",
            "made a fresh start on the project",
        ),
        "thought": (
            "thought that things might get better",
            "believed tomorrow could be good",
            "thought that there was still a chance",
            "imagined how it could turn out",
            "trusted that the hard part was ending",
            "thought maybe this time it would work",
            "looked forward to what was coming",
            "thought that the worst was over",
        ),
    },
    "brooding": {
        "scene": (
            "sat in the dim corner of the room",
            "stared at the old letter from the fight",
            "watched the fire burn low",
            "looked out at the dark field",
            "sat with a cold cup of coffee",
            "listened to the wind rattle the shutters",
            "kept the curtains closed",
            "stared at the unanswered message",
        ),
        "body": (
            "had a furrowed brow",
            "felt a tight frown on {their} face",
            "sat hunched over with {their} arms crossed",
            "had a sour taste in {their} mouth",
            "felt a slow heat under {their} skin",
            "kept {their} jaw set hard",
            "felt a dull heaviness in {their} head",
            "stared without blinking",
        ),
        "action": (
            "turned the same problem over and over",
            "muttered under {their} breath",
            "paced slowly in the dark",
            "ignored the knock at the door",
            "drew the same line on the paper again",
            "refused to talk at dinner",
            "sat up late staring at the wall",
            "kicked at a stone",
        ),
        "thought": (
            "went over every old slight in {their} mind",
            "could not let go of what was said",
            "thought about who had wronged {them}",
            "kept chewing on the same dark thought",
            "wondered why nobody understood",
            "held on to the grudge",
            "thought the whole thing was rotten",
            "replayed the argument in {their} head",
        ),
    },
    "gloomy": {
        "scene": (
            "looked out at the grey sky",
            "saw the rain fall all day",
            "walked down the empty wet street",
            "saw dead leaves in the gutter",
            "sat in the cold room with no heat",
            "watched the fog cover the town",
            "saw the dull light of winter",
            "noticed the wilted plant on the sill",
        ),
        "body": (
            "felt heavy and slow",
            "had no energy at all",
            "felt a dull weight in {their} chest",
            "dragged {their} feet",
            "slumped in the chair",
            "felt cold all the way through",
            "could barely keep {their} eyes open",
            "felt flat and numb",
        ),
        "action": (
            "stayed in bed all morning",
            "left the dishes in the sink",
            "pulled the curtains shut",
            "canceled plans with friends",
            "stared at the wall for hours",
            "ate cold toast without tasting it",
            "wore the same old sweater",
            "let the phone go dead",
        ),
        "thought": (
            "thought that nothing ever changed",
            "saw no point in trying",
            "thought that the grey would never lift",
            "expected the worst from every day",
            "could not think of anything to look forward to",
            "thought that everything was dull",
            "felt that the day was already ruined",
            "thought that more rain was coming",
        ),
    },
    "reflective": {
        "scene": (
            "looked through an old box of letters",
            "sat on the porch at dusk",
            "walked the path {they} had walked as a child",
            "read {their} old diary",
            "looked at photos from ten years ago",
            "watched the river flow past",
            "sat in the quiet library after closing",
            "visited the school {they} went to as a kid",
        ),
        "body": (
            "rested {their} chin on {their} hand",
            "leaned back and looked at the ceiling",
            "let {their} gaze wander",
            "sat with {their} hands folded",
            "tilted {their} head to one side",
            "felt {their} mind slow and clear",
            "took a long thoughtful breath",
            "half closed {their} eyes",
        ),
        "action": (
            "wrote a few lines in a notebook",
            "turned the pages slowly",
            "read the same sentence twice",
            "traced the old carvings with a finger",
            "put the photo back in its place",
            "made a list of lessons learned",
            "walked without a goal",
            "talked with an old friend about the past",
        ),
        "thought": (
            "thought about how much had changed",
            "wondered what {they} had learned over the years",
            "considered the choices that led here",
            "thought about who {they} used to be",
            "saw {their} life in a new light",
            "thought that every step had mattered",
            "wondered what the next chapter would bring",
            "understood an old mistake a little better",
        ),
    },
    "enthusiastic": {
        "scene": (
            "heard that the trip was finally on",
            "got tickets to the big game",
            "saw the new project board go up",
            "opened the box with the new bike",
            "heard the band start to play",
            "joined the team on the first day",
            "saw the poster for the science fair",
            "got the green light to start",
        ),
        "body": (
            "bounced on {their} toes",
            "had bright shining eyes",
            "talked so fast {they} ran out of breath",
            "felt energy pour through {their} limbs",
            "could barely stay in {their} seat",
            "clapped {their} hands together",
            "grinned from ear to ear",
            "felt fired up",
        ),
        "action": (
            "jumped right in",
            "signed up for every task",
            "told everyone about the plan",
            "ran to get started",
            "cheered loudly with the crowd",
            "worked late with a big smile",
            "rounded up friends to join",
            "shouted yes",
        ),
        "thought": (
            "could not wait to begin",
            "thought this would be the best thing ever",
            "had a hundred ideas at once",
            "wanted to do it all right now",
            "thought that anything was possible",
            "pictured how great it would be",
            "was ready to go all in",
            "thought that today was the start of something big",
        ),
    },
    "hostile": {
        "scene": (
            "faced the man who had insulted {them}",
            "saw the rival team walk in",
            "met the neighbor {they} had fought with",
            "sat across from the person {they} could not stand",
            "heard the stranger mock {them}",
            "watched the new boss give orders",
            "found the rival's car in {their} spot",
            "saw the old enemy at the gate",
        ),
        "body": (
            "narrowed {their} eyes",
            "bared {their} teeth",
            "stood rigid and cold",
            "crossed {their} arms tight",
            "stared with a hard cold look",
            "felt a cold hatred in {their} gut",
            "curled {their} lip",
            "leaned in close with {their} fists ready",
        ),
        "action": (
            "shoved the man away",
            "refused to shake hands",
            "growled a warning",
            "blocked the doorway",
            "made a cruel joke",
            "pushed past without a word",
            "slammed the gate in their faces",
            "sneered at the greeting",
        ),
        "thought": (
            "wanted them gone for good",
            "trusted no one in the room",
            "thought that they were all against {them}",
            "thought they deserved nothing",
            "wanted to hurt them back",
            "saw everyone as a threat",
            "would never forgive them",
            "thought of them as the enemy",
        ),
    },
    "loving": {
        "scene": (
            "held {their} baby close",
            "watched {their} partner sleep",
            "sat with {their} grandmother by the fire",
            "read a story to the kids at bedtime",
            "cooked dinner for the whole family",
            "walked hand in hand with {their} partner",
            "saw {their} oldest friend at the door",
            "brushed the dog's fur",
        ),
        "body": (
            "felt {their} heart melt",
            "felt a tender warmth fill {their} chest",
            "had soft eyes",
            "felt {their} face soften",
            "felt a gentle ache of care",
            "leaned close without thinking",
            "felt safe and close",
            "felt {their} whole heart open",
        ),
        "action": (
            "kissed the top of the child's head",
            "tucked the blanket around them",
            "gave a long warm hug",
            "held their hand tight",
            "left a sweet note in the lunch box",
            "stroked their hair gently",
            "made a warm cup of cocoa for them",
            "whispered good night",
        ),
        "thought": (
            "thought that they meant the world",
            "would do anything to keep them safe",
            "felt lucky to have them",
            "wanted them to always be happy",
            "thought of all the years together",
            "cared for them more than words could say",
            "hoped they knew how much they were loved",
            "thought that home was wherever they were",
        ),
    },
    "exasperated": {
        "scene": (
            "found the sink full of dishes again",
            "was put on hold for the fifth time",
            "saw the printer jam once more",
            "had to explain the same thing three times",
            "watched the kids spill juice again",
            "found the keys missing yet again",
            "heard the same excuse as last week",
            "got stuck in a line that never moved",
        ),
        "body": (
            "rolled {their} eyes",
            "let out a loud groan",
            "rubbed {their} forehead",
            "threw up {their} hands",
            "huffed and puffed",
            "pinched the bridge of {their} nose",
            "sighed loudly for the tenth time",
            "tapped {their} fingers hard on the table",
        ),
        "action": (
            "said fine, whatever",
            "cleaned up the mess one more time",
            "hung up the phone with a grunt",
            "started the form all over again",
            "asked for the manager",
            "stomped off to get a mop",
            "wrote the rule on the fridge in big letters",
            "muttered come on, come on",
        ),
        "thought": (
            "wondered how many times this would happen",
            "thought why does this always happen",
            "had had enough of it",
            "could not believe it happened again",
            "thought nobody ever listened",
            "wished for one day without trouble",
            "was tired of doing it all",
            "thought that this was getting silly",
        ),
    },
    "blissful": {
        "scene": (
            "floated in the warm blue sea",
            "lay in the sun on soft grass",
            "tasted the sweetest peach of the summer",
            "listened to music under the stars",
            "soaked in a hot bath",
            "lay in a hammock under the trees",
            "woke up with nowhere to be",
            "watched the sunset paint the sky pink",
        ),
        "body": (
            "felt pure joy melt through {their} body",
            "felt as light as a cloud",
            "sighed with deep content",
            "felt every worry drain away",
            "felt a warm glow from head to toe",
            "smiled with {their} eyes closed",
            "felt perfectly at ease",
            "felt like {they} was floating",
        ),
        "action": (
            "stretched out lazily",
            "let the water carry {them}",
            "savored every bite",
            "hummed softly with a dreamy smile",
            "lay still and soaked it in",
            "twirled slowly in the grass",
            "drifted off into a happy doze",
            "laughed softly to no one",
        ),
        "thought": (
            "thought that life could not be better",
            "wished this could last forever",
            "wanted nothing more",
            "thought that this was heaven",
            "felt at one with everything",
            "had not a care in the world",
            "thought that everything was perfect",
            "knew this was pure happiness",
        ),
    },
    "anxious": {
        "scene": (
            "waited for the test results",
            "checked the bank balance for the third time",
            "heard nothing back from the doctor",
            "saw a message from the boss that said we need to talk",
            "read the news late at night",
            "lay awake before the big move",
            "watched the phone for a reply",
            "noticed a strange noise in the car",
        ),
        "body": (
            "felt a tight knot in {their} stomach",
            "had a racing mind",
            "could not catch {their} breath",
            "felt {their} chest tighten",
            "had a restless twitch in {their} leg",
            "could not sleep at all",
            "felt tense from neck to back",
            "chewed on {their} nails",
        ),
        "action": (
            "checked the lock three times",
            "refreshed the page again and again",
            "made lists of everything that could go wrong",
            "called to ask the same question twice",
            "tossed and turned in bed",
            "bit {their} lip",
            "read the message over and over",
            "cleaned the kitchen to keep busy",
        ),
        "thought": (
            "worried that something had gone wrong",
            "kept imagining the worst",
            "could not stop the what ifs",
            "feared the news would be bad",
            "thought about every little risk",
            "wondered if {they} had forgotten something",
            "felt that trouble was coming",
            "could not shake a sense of dread",
        ),
    },
    "grateful": {
        "scene": (
            "got a meal from a kind neighbor",
            "found that a stranger had paid for {their} coffee",
            "got help moving boxes",
            "got a card from an old teacher",
            "saw that friends had fixed the fence",
            "was given a ride home in the rain",
            "heard the nurse had stayed late to help",
            "got a gift {they} did not expect",
        ),
        "body": (
            "felt a warm rush of thanks",
            "pressed a hand to {their} heart",
            "felt {their} eyes grow misty",
            "felt humbled and warm",
            "bowed {their} head",
            "had a soft thankful smile",
            "felt a gentle warmth",
            "felt {their} throat tighten with thanks",
        ),
        "action": (
            "said thank you again and again",
            "wrote a long thank you note",
            "baked a pie for the neighbor",
            "hugged the helper warmly",
            "shook the stranger's hand",
            "paid the kindness forward",
            "brought flowers to the nurse",
            "returned the favor the next week",
        ),
        "thought": (
            "thought about how lucky {they} was",
            "knew {they} could not have done it alone",
            "counted {their} blessings",
            "thought that people were so kind",
            "was thankful for every bit of help",
            "would never forget the kindness",
            "felt blessed to have such friends",
            "thought that small things mattered",
        ),
    },
}

# Shared valence-coded phrases: mixed into stories of *any* emotion with a polarity driven by
# that emotion's valence, so same-valence emotions share these words (a valence axis).
VALENCE_PHRASES: dict[str, tuple[str, ...]] = {
    "positive": (
        "felt good inside",
        "felt warm and glad",
        "thought that the world was kind",
        "felt a bright warmth spread",
        "saw the good in everything",
        "felt that all was right",
        "smiled softly",
        "felt light and glad",
        "felt lucky to be there",
        "liked what {they} saw",
    ),
    "negative": (
        "felt awful inside",
        "felt cold and bitter",
        "thought that the world was unkind",
        "felt a sour ache spread",
        "saw only the bad in things",
        "felt that all was wrong",
        "frowned hard",
        "felt miserable and small",
        "felt unlucky to be there",
        "hated what {they} saw",
    ),
}

# Shared arousal-coded phrases, mixed in the same way by the arousal coordinate (an arousal axis).
AROUSAL_PHRASES: dict[str, tuple[str, ...]] = {
    "high": (
        "felt {their} heart race",
        "felt wide awake and wired",
        "moved fast",
        "felt a rush through {their} body",
        "breathed fast",
        "felt buzzing energy",
        "felt every nerve tingle",
        "felt charged up",
        "jumped up quickly",
        "spoke fast and loud",
    ),
    "low": (
        "breathed slowly",
        "moved slowly",
        "felt sleepy and slow",
        "sat very still",
        "felt quiet inside",
        "spoke softly",
        "felt drowsy",
        "yawned once",
        "rested for a while",
        "felt the hours slow down",
    ),
}

# Neutral stories: flat, matter-of-fact chores and facts. No affective words, no body states.
NEUTRAL_SLOTS: tuple[str, ...] = ("scene", "action", "note")
NEUTRAL_LEXICON: dict[str, tuple[str, ...]] = {
    "scene": (
        "noticed the clock said ten past nine",
        "saw a stack of papers on the desk",
        "saw that the bus was on time",
        "looked at the list on the fridge",
        "saw the mail on the mat",
        "noticed that the shelf had five rows",
        "saw the sign for the second floor",
        "looked at the weather report",
        "saw that the printer had paper",
        "read the label on the box",
    ),
    "action": (
        "sorted the mail into two piles",
        "put the cups on the shelf",
        "wrote the date at the top of the page",
        "filled the kettle with water",
        "counted the boxes by the door",
        "swept the floor",
        "paid for the bread at the counter",
        "folded the towels",
        "filed the forms in a drawer",
        "checked the tire pressure",
        "watered the plants",
        "took out the trash",
        "washed the plates and set them to dry",
        "moved the chairs back to the table",
    ),
    "note": (
        "made a note to buy more paper",
        "wrote down the time",
        "checked the list and moved on",
        "put the pen back in the cup",
        "marked the task as done",
        "set the alarm for seven",
        "read the next item on the list",
        "closed the folder",
        "turned off the lamp",
        "put the keys on the hook",
    ),
}

# Characters (name, subject/object/possessive pronouns), places and times. Small lists on
# purpose: they add surface variety without inflating the vocabulary or carrying any emotion.
_PRONOUNS: dict[str, dict[str, str]] = {
    "she": {"they": "she", "them": "her", "their": "her"},
    "he": {"they": "he", "them": "him", "their": "his"},
}
CHARACTERS: tuple[tuple[str, str], ...] = (
    ("Anna", "she"), ("Ben", "he"), ("Maya", "she"), ("Sam", "he"), ("Lena", "she"),
    ("Tom", "he"), ("Nora", "she"), ("Leo", "he"), ("Ruth", "she"), ("Omar", "he"),
    ("Ivy", "she"), ("Jack", "he"),
)
PLACES: tuple[str, ...] = (
    "in the kitchen", "at the park", "at the train station", "in the office", "in the garden",
    "on the beach", "at the school", "at the market", "in the library", "at the bus stop",
    "at the hospital", "in the old house",
)
TIMES: tuple[str, ...] = (
    "One morning", "That evening", "On Monday", "After lunch", "Late at night",
    "Early on Sunday", "In the afternoon", "Just before noon",
)

# Story shape limits; tests assert every generated story respects them.
MIN_WORDS, MAX_WORDS = 35, 70
MIN_SENTENCES, MAX_SENTENCES = 3, 5

# Probability that an emotion story names its emotion once ("She felt proud."). Real
# model-written emotion stories often do, and it ties the emotion *word* (which the generation
# templates use) to the emotion's lexicon for the base toy model; kept low so the label is
# carried mostly by situation, body and action, as in the papers' stimuli.
NAME_EMOTION_PROB = 0.2

# Each story makes this many independent draws for a shared valence phrase and as many for an
# arousal phrase. A draw fires with probability |coordinate| (so the *magnitude* sets how often
# shared phrases appear) and picks the positive/high pole with probability
# clamp(0.5 + coordinate, 0, 1): emotions near the middle of an axis mix both poles, while
# clearly placed ones (|coordinate| >= 0.5) only ever get their own pole, so a strongly negative
# story never contains a contradictory "felt good inside".
_SHARED_DRAWS = 2

# Retries to land a story inside [MIN_WORDS, MAX_WORDS]; the random choices make nearly every
# attempt fit, so this bound is never approached in practice.
_MAX_ATTEMPTS = 1000

CATEGORIES: tuple[str, ...] = (*JEONG_20, NEUTRAL)


@dataclass(frozen=True)
class ToyStory:
    """One synthetic story. ``emotion`` is one of :data:`JEONG_20` or ``"neutral"``."""

    id: str
    emotion: str
    text: str


# ---------------------------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------------------------


def _render(phrase: str, pronoun: str) -> str:
    """Fill ``{they}``/``{them}``/``{their}`` slots with one character's pronouns."""
    return phrase.format(**_PRONOUNS[pronoun])


def surface_forms(phrase: str) -> tuple[str, ...]:
    """All rendered forms of a lexicon phrase (one per pronoun set, duplicates removed)."""
    return tuple(dict.fromkeys(_render(phrase, p) for p in _PRONOUNS))


def category_phrases(category: str) -> frozenset[str]:
    """Every rendered surface form of a category's own lexicon (emotion or neutral).

    Shared valence/arousal phrases are *not* included: they are not specific to any category.
    """
    if category == NEUTRAL:
        pool = [p for slot in NEUTRAL_SLOTS for p in NEUTRAL_LEXICON[slot]]
    elif category in EMOTION_LEXICON:
        pool = [p for slot in EMOTION_SLOTS for p in EMOTION_LEXICON[category][slot]]
    else:
        raise EmovecInputError(
            f"category={category!r} is not a toy-corpus category; expected one of {list(CATEGORIES)}"
        )
    return frozenset(form for p in pool for form in surface_forms(p))


def shared_phrases(axis: str, pole: str) -> frozenset[str]:
    """Rendered forms of the shared phrases for ``axis`` ("valence"/"arousal") and its pole."""
    table = {"valence": VALENCE_PHRASES, "arousal": AROUSAL_PHRASES}.get(axis)
    if table is None or pole not in table:
        raise EmovecInputError(
            f"axis={axis!r}, pole={pole!r} is not a shared phrase set; expected "
            "valence/positive|negative or arousal/high|low"
        )
    return frozenset(form for p in table[pole] for form in surface_forms(p))


def _sentence(subject: str, predicate: str, clause: str | None) -> str:
    """Join subject + predicate (+ ``and`` clause) into one sentence."""
    body = f"{subject} {predicate}" if clause is None else f"{subject} {predicate} and {clause}"
    return body + "."


def _shared_clauses(rng: random.Random, emotion: str) -> list[str]:
    """Draw the shared valence/arousal phrases for one emotion story (unrendered)."""
    valence, arousal = TOY_AFFECT[emotion]
    out: list[str] = []
    for coord, table, poles in (
        (valence, VALENCE_PHRASES, ("positive", "negative")),
        (arousal, AROUSAL_PHRASES, ("high", "low")),
    ):
        for _ in range(_SHARED_DRAWS):
            if rng.random() < abs(coord):
                p_first = min(1.0, max(0.0, 0.5 + coord))
                pole = poles[0] if rng.random() < p_first else poles[1]
                out.append(rng.choice(table[pole]))
    rng.shuffle(out)
    return out


def _compose_once(rng: random.Random, category: str) -> str:
    """One attempt at a story for ``category``; may fall outside the word limits."""
    name, pronoun = rng.choice(CHARACTERS)
    opening = f"{rng.choice(TIMES)}, {name} was {rng.choice(PLACES)}."
    subject_pronoun = _PRONOUNS[pronoun]["they"].capitalize()

    def subject() -> str:
        # Mostly the pronoun, sometimes the name again, as in ordinary short prose.
        return name if rng.random() < 0.25 else subject_pronoun

    # Each body sentence is [subject, predicate, clause-or-None]; clauses are added below.
    body: list[list[str | None]] = []
    if category == NEUTRAL:
        slots = ["action"] + (["scene"] if rng.random() < 0.6 else [])
        slots += ["action"] * rng.randint(0, 1) + ["note"]
        order = {"scene": 0, "action": 1, "note": 2}
        slots.sort(key=order.__getitem__)
        used: set[str] = set()
        for slot in slots:
            choice = rng.choice([p for p in NEUTRAL_LEXICON[slot] if p not in used])
            used.add(choice)
            body.append([subject(), choice, None])
        # Flat "and then" clauses for length: more chores, never affect.
        clauses = [
            "then " + p
            for p in rng.sample(NEUTRAL_LEXICON["action"], k=rng.randint(1, 3))
            if p not in used
        ]
    else:
        k = rng.choice((2, 3, 3, 4))
        slots = sorted(rng.sample(range(len(EMOTION_SLOTS)), k))
        for i in slots:
            body.append([subject(), rng.choice(EMOTION_LEXICON[category][EMOTION_SLOTS[i]]), None])
        clauses = _shared_clauses(rng, category)
        if rng.random() < NAME_EMOTION_PROB and 1 + len(body) < MAX_SENTENCES:
            body.insert(rng.randint(0, len(body)), [subject(), f"felt {category}", None])

    # Attach each clause to a free sentence, or make it its own sentence when there is room.
    for clause in clauses:
        free = [s for s in body if s[2] is None]
        room = 1 + len(body) < MAX_SENTENCES
        if free and (not room or rng.random() < 0.7):
            rng.choice(free)[2] = clause
        elif room:
            body.insert(rng.randint(0, len(body)), [subject(), clause, None])
        # else: no free sentence and no room - drop the clause.

    sentences = [opening] + [
        _sentence(str(s[0]), _render(str(s[1]), pronoun),
                  None if s[2] is None else _render(str(s[2]), pronoun))
        for s in body
    ]
    return " ".join(sentences)


def _compose(rng: random.Random, category: str) -> str:
    """A story for ``category`` within the word limits (retrying on the same rng stream)."""
    for _ in range(_MAX_ATTEMPTS):
        text = _compose_once(rng, category)
        if MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            return text
    raise RuntimeError(f"could not compose a {category!r} story within word limits")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def generate_stories(n_per_category: int, seed: int) -> list[ToyStory]:
    """Generate ``n_per_category`` stories for each of the 20 emotions and for neutral.

    Order: categories in :data:`JEONG_20` order, then ``"neutral"``; within a category, ids run
    ``toy-<category>-0000`` upward. Deterministic for a fixed ``seed`` (one private
    ``random.Random(seed)``; global random state is neither read nor changed).
    """
    if isinstance(n_per_category, bool) or not isinstance(n_per_category, int):
        raise EmovecInputError(
            f"n_per_category must be an int >= 1, got {type(n_per_category).__name__} "
            f"{n_per_category!r}"
        )
    if n_per_category < 1:
        raise EmovecInputError(f"n_per_category must be >= 1, got {n_per_category}")
    rng = random.Random(seed)
    stories: list[ToyStory] = []
    for category in CATEGORIES:
        for i in range(n_per_category):
            stories.append(
                ToyStory(id=f"toy-{category}-{i:04d}", emotion=category, text=_compose(rng, category))
            )
    return stories


def instruction_pairs(
    stories: list[ToyStory],
    templates: list[str],
    neutral_template: str,
    neutral_topics: list[str],
    seed: int,
) -> list[tuple[str, str]]:
    """Pair each story with an instruction that could have produced it.

    Emotion stories get a template (chosen with a seeded rng) with ``{emotion}`` filled in;
    neutral stories get ``neutral_template`` with a seeded choice of ``{topic}``. The pairs
    instruction-tune the toy "instruct" model so it can answer the generation templates.
    Placeholders are filled by plain replacement, so other braces in a template are harmless.
    """
    if not templates:
        raise EmovecInputError("templates must be a non-empty list of strings containing '{emotion}'")
    for t in templates:
        if not isinstance(t, str) or "{emotion}" not in t:
            raise EmovecInputError(f"templates: every template must contain '{{emotion}}', got {t!r}")
    if not isinstance(neutral_template, str) or "{topic}" not in neutral_template:
        raise EmovecInputError(
            f"neutral_template must contain '{{topic}}', got {neutral_template!r}"
        )
    if not neutral_topics or not all(isinstance(t, str) and t.strip() for t in neutral_topics):
        raise EmovecInputError("neutral_topics must be a non-empty list of non-empty strings")

    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    for story in stories:
        if story.emotion == NEUTRAL:
            instruction = neutral_template.replace("{topic}", rng.choice(neutral_topics))
        elif story.emotion in EMOTION_LEXICON:
            instruction = rng.choice(templates).replace("{emotion}", story.emotion)
        else:
            raise EmovecInputError(
                f"stories: story {story.id!r} has emotion={story.emotion!r}, expected one of "
                f"{list(CATEGORIES)}"
            )
        pairs.append((instruction, story.text))
    return pairs
