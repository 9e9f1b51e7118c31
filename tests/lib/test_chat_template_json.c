/*
 * test_chat_template_json.c — hearth_chat_template_apply_json, the public
 * (cJSON-free) form of the chat-template call, renders what the internal
 * cJSON form renders, and refuses text that is not a JSON array.
 */
#include "harness.h"
#include "hearth/jinja.h"
#include "prompt/jinja_cjson.h"

#include <stdlib.h>
#include <string.h>

static const char *TPL =
    "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}"
    "{% if tools %}[{{ tools | length }} tools]{% endif %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

TEST(json_form_equals_cjson_form) {
    const char *msgs = "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"2+2? é\"}]";
    const char *tools = "[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]";
    char *a = NULL, *b = NULL;
    CHECK_EQ_INT(hearth_chat_template_apply_json(TPL, msgs, strlen(msgs), true, "<s>", "</s>", tools, &a), HEARTH_OK);
    cJSON *m = cJSON_Parse(msgs), *t = cJSON_Parse(tools);
    CHECK_EQ_INT(hearth_chat_template_apply(TPL, m, true, "<s>", "</s>", t, &b), HEARTH_OK);
    CHECK(a && b && strcmp(a, b) == 0);
    CHECK(a && strcmp(a, "<s><|system|>Be brief.</s><|user|>2+2? é</s>[1 tools]<|assistant|>") == 0);
    free(a);
    free(b);
    cJSON_Delete(m);
    cJSON_Delete(t);
    /* no tools, no generation prompt, NULL bos/eos */
    CHECK_EQ_INT(hearth_chat_template_apply_json(TPL, msgs, strlen(msgs), false, NULL, NULL, NULL, &a), HEARTH_OK);
    CHECK(a && strcmp(a, "<|system|>Be brief.<|user|>2+2? é") == 0);
    free(a);
}

TEST(bad_json_is_refused) {
    char *out = (char *)1;
    CHECK_EQ_INT(hearth_chat_template_apply_json(TPL, "[{\"role\":", 9, true, NULL, NULL, NULL, &out), HEARTH_ERR_FORMAT);
    CHECK(out == NULL);
    CHECK(strstr(hearth_last_error(), "messages") != NULL);
    CHECK_EQ_INT(hearth_chat_template_apply_json(TPL, "{}", 2, true, NULL, NULL, NULL, &out), HEARTH_ERR_FORMAT);
    CHECK_EQ_INT(hearth_chat_template_apply_json(TPL, "[]", 2, true, NULL, NULL, "{", &out), HEARTH_ERR_FORMAT);
    CHECK(strstr(hearth_last_error(), "tools") != NULL);
    CHECK_EQ_INT(hearth_chat_template_apply_json(NULL, "[]", 2, true, NULL, NULL, NULL, &out), HEARTH_ERR_INVALID_ARG);
}

int main(void) {
    RUN(json_form_equals_cjson_form);
    RUN(bad_json_is_refused);
    return harness_done();
}
