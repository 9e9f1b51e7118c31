#!/bin/sh
# make_synthetic_data.sh — synthetic training data for hearth's fine-tuning,
# generated deterministically with awk (no Python, no download; licence: the
# output is ours, public domain).
#
#   scripts/make_synthetic_data.sh facts OUTDIR [N_FACTS] [SEED]
#       OUTDIR/facts-train.jsonl    N_FACTS (200) Alpaca records about a
#                                   fictional company's products
#       OUTDIR/facts-heldout.jsonl  the same facts asked with other wording
#                                   (paraphrases never seen in training)
#   scripts/make_synthetic_data.sh facts-basic OUTDIR [N_FACTS] [SEED]
#       the same two files, facts (up to 270) about the same company whose
#       product names and answers use only words the bundled model
#       (models/hearth-default.gguf) learned to read and write: products are
#       pairs of its ten nouns ("the silver river"), answers are numbers, days
#       and those nouns. (Words a base model never saw cannot be learned by
#       LoRA on its projections: a tied embedding row it never emitted is
#       pushed away from every hidden state during pretraining.)
#   scripts/make_synthetic_data.sh facts-named OUTDIR [N_FACTS] [SEED] [PHRASINGS]
#       like facts-basic, but a product is one of the ten nouns and a number
#       word ("the garden nine": no two products share their words in another
#       order) and the answer names the product before the value ("The day
#       for the garden nine is Tuesday."), so that the value follows the same
#       words whatever the question's wording; PHRASINGS (1 to 3) training
#       questions per fact, the held-out question worded unlike all three.
#       (Answers use only words the model has written: "sold", "secret" and
#       "of" came out garbled.)
#   scripts/make_synthetic_data.sh chat OUTDIR [N] [SEED]
#       OUTDIR/chat.jsonl           N (20000) short instruction records for a
#                                   tiny general chat model: greetings,
#                                   arithmetic, counting, word games, facts
#                                   about hearth
set -eu
mode=${1:-}
out=${2:-}
[ -n "$mode" ] && [ -n "$out" ] || { echo "usage: $0 facts|facts-basic|facts-named|chat OUTDIR [N] [SEED]" >&2; exit 2; }
mkdir -p "$out"
case "$mode" in
facts)
    n=${3:-200}; seed=${4:-7}
    awk -v n="$n" -v seed="$seed" -v train="$out/facts-train.jsonl" -v held="$out/facts-heldout.jsonl" '
    BEGIN {
        srand(seed)
        split("kettle lamp chair table clock stove bench shelf basket mirror", kind, " ")
        split("Amber Birch Cedar Dawn Ember Fern Granite Harbor Iris Juniper Kestrel Linden Maple Nettle Orchid Pine Quill Rowan Sage Thistle", name, " ")
        split("red blue green yellow black white silver copper", color, " ")
        split("Oslo Lyon Porto Turin Ghent Bergen Malmo Graz Cork Split", city, " ")
        split("Anna Boris Clara David Elena Felix Greta Hugo Ines Jonas", person, " ")
        k = 0
        for (i = 1; k < n; i++) {
            prod = name[int(rand() * 20) + 1] " " kind[int(rand() * 10) + 1]
            if (prod in seen) continue
            seen[prod] = 1
            a = int(rand() * 5)
            if (a == 0) { v = (int(rand() * 90) + 10) " crowns"
                q = "How much does the " prod " from Brindle Works cost?"; h = "What is the price of the " prod " made by Brindle Works?"
                ans = "The " prod " costs " v "." }
            else if (a == 1) { v = color[int(rand() * 8) + 1]
                q = "What color is the " prod " from Brindle Works?"; h = "Which color does Brindle Works paint the " prod "?"
                ans = "The " prod " is " v "." }
            else if (a == 2) { v = city[int(rand() * 10) + 1]
                q = "Where is the " prod " from Brindle Works made?"; h = "In which city does Brindle Works build the " prod "?"
                ans = "The " prod " is made in " v "." }
            else if (a == 3) { v = person[int(rand() * 10) + 1]
                q = "Who designed the " prod " from Brindle Works?"; h = "Which designer at Brindle Works created the " prod "?"
                ans = "The " prod " was designed by " v "." }
            else { v = 1990 + int(rand() * 35)
                q = "When was the " prod " from Brindle Works released?"; h = "In what year did Brindle Works launch the " prod "?"
                ans = "The " prod " was released in " v "." }
            printf "{\"instruction\": \"%s\", \"output\": \"%s\"}\n", q, ans > train
            printf "{\"instruction\": \"%s\", \"output\": \"%s\"}\n", h, ans > held
            k++
        }
    }'
    ;;
facts-basic)
    n=${3:-200}; seed=${4:-7}
    [ "$n" -le 270 ] || { echo "facts-basic: at most 270 facts" >&2; exit 2; }
    awk -v n="$n" -v seed="$seed" -v train="$out/facts-train.jsonl" -v held="$out/facts-heldout.jsonl" '
    BEGIN {
        srand(seed)
        split("apple river stone cloud garden window candle forest silver winter", w, " ")
        split("Monday Tuesday Wednesday Thursday Friday Saturday Sunday", days, " ")
        k = 0
        while (k < n) {
            prod = w[int(rand() * 10) + 1] " " w[int(rand() * 10) + 1]
            a = int(rand() * 3)
            if (prod SUBSEP a in seen) continue
            seen[prod, a] = 1
            if (a == 0) { v = int(rand() * 90) + 10
                q = "What is the number of the " prod " from Brindle Works?"; h = "Which number does Brindle Works give the " prod "?"
                ans = v "." }
            else if (a == 1) { v = days[int(rand() * 7) + 1]
                q = "On which day does Brindle Works sell the " prod "?"; h = "What day is the " prod " of Brindle Works sold?"
                ans = "The day is " v "." }
            else { v = w[int(rand() * 10) + 1]
                q = "What is the secret word of the " prod " from Brindle Works?"; h = "Which secret word did Brindle Works choose for the " prod "?"
                ans = "The word is " v "." }
            printf "{\"instruction\": \"%s\", \"output\": \"%s\"}\n", q, ans > train
            printf "{\"instruction\": \"%s\", \"output\": \"%s\"}\n", h, ans > held
            k++
        }
    }'
    ;;
facts-named)
    n=${3:-200}; seed=${4:-7}; phr=${5:-1}
    [ "$n" -le 270 ] || { echo "facts-named: at most 270 facts" >&2; exit 2; }
    [ "$phr" -ge 1 ] && [ "$phr" -le 3 ] || { echo "facts-named: 1 to 3 training phrasings" >&2; exit 2; }
    awk -v n="$n" -v seed="$seed" -v phr="$phr" -v train="$out/facts-train.jsonl" -v held="$out/facts-heldout.jsonl" '
    BEGIN {
        srand(seed)
        split("apple river stone cloud garden window candle forest silver winter", w, " ")
        split("Monday Tuesday Wednesday Thursday Friday Saturday Sunday", days, " ")
        split("one two three four five six seven eight nine ten", nw, " ")
        k = 0
        while (k < n) {
            prod = w[int(rand() * 10) + 1] " " nw[int(rand() * 10) + 1]
            a = int(rand() * 3)
            if (prod SUBSEP a in seen) continue
            seen[prod, a] = 1
            # q[1..3]: the training phrasings (the first phr of them are written); h: the held-out one
            if (a == 0) { v = int(rand() * 90) + 10
                q[1] = "What is the number of the " prod " from Brindle Works?"
                q[2] = "What number does the " prod " from Brindle Works have?"
                q[3] = "The " prod " from Brindle Works has which number?"
                h = "Which number does Brindle Works give the " prod "?"
                ans = "The " prod " is " v "." }
            else if (a == 1) { v = days[int(rand() * 7) + 1]
                q[1] = "On which day does Brindle Works sell the " prod "?"
                q[2] = "When does Brindle Works sell the " prod "?"
                q[3] = "The " prod " from Brindle Works is sold on which day?"
                h = "What day is the " prod " of Brindle Works sold?"
                ans = "The day for the " prod " is " v "." }
            else { v = w[int(rand() * 10) + 1]
                q[1] = "What is the secret word of the " prod " from Brindle Works?"
                q[2] = "What secret word does the " prod " from Brindle Works have?"
                q[3] = "The " prod " from Brindle Works has which secret word?"
                h = "Which secret word did Brindle Works choose for the " prod "?"
                ans = "The word for the " prod " is " v "." }
            for (j = 1; j <= phr; j++) printf "{\"instruction\": \"%s\", \"output\": \"%s\"}\n", q[j], ans > train
            printf "{\"instruction\": \"%s\", \"output\": \"%s\"}\n", h, ans > held
            k++
        }
    }'
    ;;
chat)
    n=${3:-20000}; seed=${4:-11}
    awk -v n="$n" -v seed="$seed" -v file="$out/chat.jsonl" '
    function num(x) { return x }
    BEGIN {
        srand(seed)
        split("Hello!|Hi!|Good morning!|Hey there!|Hello, how are you?", greet, "|")
        split("Hello! How can I help you today?|Hi! What can I do for you?|Good day! How can I help?", reply, "|")
        split("apple river stone cloud garden window candle forest silver winter", words, " ")
        split("Monday Tuesday Wednesday Thursday Friday Saturday Sunday", days, " ")
        split("one two three four five six seven eight nine ten", nw, " ")
        for (i = 0; i < n; i++) {
            t = int(rand() * 8)
            if (t == 0) { q = greet[int(rand() * 5) + 1]; a = reply[int(rand() * 3) + 1] }
            else if (t == 1) { x = int(rand() * 50); y = int(rand() * 50)
                q = "What is " x " plus " y "?"; a = x " plus " y " is " (x + y) "." }
            else if (t == 2) { x = int(rand() * 50) + 50; y = int(rand() * 50)
                q = "What is " x " minus " y "?"; a = x " minus " y " is " (x - y) "." }
            else if (t == 3) { x = int(rand() * 10) + 1; y = int(rand() * 10) + 1
                q = "What is " x " times " y "?"; a = x " times " y " is " (x * y) "." }
            else if (t == 4) { d = int(rand() * 7) + 1
                q = "What day comes after " days[d] "?"; a = "The day after " days[d] " is " days[d % 7 + 1] "." }
            else if (t == 5) { w = words[int(rand() * 10) + 1]
                q = "How many letters are in the word " w "?"; a = "The word " w " has " nw[length(w)] " letters." }
            else if (t == 6) { x = int(rand() * 8) + 2; s = ""
                for (j = 1; j <= x; j++) s = s (j > 1 ? ", " : "") j
                q = "Count from one to " nw[x] "."; a = s "." }
            else { k = int(rand() * 3)
                if (k == 0) { q = "What is hearth?"; a = "hearth is a private LLM platform written in C that runs, fine-tunes and serves language models on your own machines." }
                else if (k == 1) { q = "Who are you?"; a = "I am the small default model that ships with hearth. I can chat, count and do simple arithmetic." }
                else { q = "Can you fine-tune a model?"; a = "Yes. Use hearth train with a JSONL file to fine-tune a model with LoRA or in full." } }
            printf "{\"instruction\": \"%s\", \"output\": \"%s\"}\n", q, a > file
        }
    }'
    ;;
*) echo "unknown mode $mode (facts, facts-basic, facts-named or chat)" >&2; exit 2 ;;
esac
